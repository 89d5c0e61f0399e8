// Cloudflare's KV REST API (the endpoints planner.kv.cloudflare uses) over a real KV binding.
// Envelopes, error codes and limits follow Cloudflare's API; storage is workerd/miniflare's own.
const LIMITS = { bulkWrite: 10000, bulkDelete: 10000, bulkGet: 100 };

const envelope = (result, extra = {}) => Response.json({ success: true, errors: [], messages: [], result, ...extra });
const failure = (status, code, message) =>
  Response.json({ success: false, errors: [{ code, message }], messages: [], result: null }, { status });

function b64decode(text) {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// One binding call at a time: concurrent calls contend on the local store and are slower.
async function inBatches(items, call) {
  for (const it of items) await call(it);
}

// One namespace id -> one key prefix inside the single binding, so tests can use several namespaces.
const inner = (ns, key) => `${ns}\u0001${key}`;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const m = url.pathname.match(/^\/client\/v4\/accounts\/([^/]+)\/storage\/kv\/namespaces\/([^/]+)\/(.*)$/);
    if (!m) return failure(404, 7000, "No route for that URI");
    if (request.headers.get("Authorization") !== `Bearer ${env.TOKEN}` || decodeURIComponent(m[1]) !== env.ACCOUNT)
      return failure(403, 10000, "Authentication error");
    const ns = decodeURIComponent(m[2]);
    const rest = m[3];
    const method = request.method;
    if (rest === "bulk" && method === "PUT") {
      const items = await request.json();
      if (items.length > LIMITS.bulkWrite) return failure(400, 10040, "bulk write limited to 10000 pairs");
      await inBatches(items, (it) =>
        env.KV.put(inner(ns, it.key), it.base64 ? b64decode(it.value) : String(it.value), it.metadata == null ? {} : { metadata: it.metadata }),
      );
      return envelope({ successful_key_count: items.length, unsuccessful_keys: [] });
    }
    if (rest === "bulk/delete" && method === "POST") {
      const keys = await request.json();
      if (keys.length > LIMITS.bulkDelete) return failure(400, 10040, "bulk delete limited to 10000 keys");
      await inBatches(keys, (k) => env.KV.delete(inner(ns, k)));
      return envelope({ successful_key_count: keys.length, unsuccessful_keys: [] });
    }
    if (rest === "bulk/get" && method === "POST") {
      const body = await request.json();
      const keys = body.keys ?? [];
      if (keys.length > LIMITS.bulkGet) return failure(400, 10155, "bulk get limited to 100 keys");
      const type = body.type ?? "text";
      const got = body.withMetadata
        ? await env.KV.getWithMetadata(keys.map((k) => inner(ns, k)), type)
        : await env.KV.get(keys.map((k) => inner(ns, k)), type);
      const values = {};
      for (const k of keys) values[k] = got.get(inner(ns, k)) ?? null; // the binding's answer, as is
      return envelope({ values });
    }
    if (rest === "keys" && method === "GET") {
      const limit = Number(url.searchParams.get("limit") ?? "1000");
      if (!(limit >= 10 && limit <= 1000)) return failure(400, 10025, "limit must be between 10 and 1000");
      const opts = { prefix: inner(ns, url.searchParams.get("prefix") ?? ""), limit };
      const cursor = url.searchParams.get("cursor");
      if (cursor) opts.cursor = cursor;
      const page = await env.KV.list(opts);
      const strip = inner(ns, "").length;
      const result = page.keys.map((k) => ({
        name: k.name.slice(strip),
        ...(k.expiration === undefined ? {} : { expiration: k.expiration }),
        ...(k.metadata === undefined ? {} : { metadata: k.metadata }),
      }));
      // The REST API ends a listing with an empty cursor (the binding says list_complete).
      return envelope(result, { result_info: { count: result.length, cursor: page.list_complete ? "" : page.cursor } });
    }
    const one = rest.match(/^(values|metadata)\/(.+)$/);
    if (one && method === "GET") {
      const key = decodeURIComponent(one[2]);
      const { value, metadata } = await env.KV.getWithMetadata(inner(ns, key), "arrayBuffer");
      if (value === null) return failure(404, 10009, "get: 'key not found'");
      if (one[1] === "values") return new Response(value, { headers: { "Content-Type": "application/octet-stream" } });
      return envelope(metadata);
    }
    return failure(405, 10000, `method ${method} not allowed`);
  },
};
