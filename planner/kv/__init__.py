"""KV stores: one small interface, an embedded SQLite store and Cloudflare Workers KV."""
