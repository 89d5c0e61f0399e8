from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.gitrepo import EdgitRepo

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("dev")


@pytest.fixture
def edgit_repo(tmp_path: Path) -> EdgitRepo:
    return EdgitRepo.create(tmp_path)
