// The playground's whole state in the URL fragment (`#s=…`): JSON, deflated, base64url. A
// link restores the same policy, request, tests, second version and tab, with no server.

const enc = new TextEncoder();
const dec = new TextDecoder();

async function pipe(bytes, stream) {
  const out = new Blob([bytes]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

function toBase64Url(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text) {
  const s = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** The fragment for `state`. */
export async function encode(state) {
  const packed = await pipe(enc.encode(JSON.stringify(state)), new CompressionStream("deflate-raw"));
  return `#s=${toBase64Url(packed)}`;
}

/** The state in `hash`, or `null` when there is none or it does not decode. */
export async function decode(hash) {
  const m = /^#s=([A-Za-z0-9_-]+)$/.exec(hash);
  if (!m) return null;
  try {
    const bytes = await pipe(fromBase64Url(m[1]), new DecompressionStream("deflate-raw"));
    const state = JSON.parse(dec.decode(bytes));
    return state && typeof state === "object" ? state : null;
  } catch {
    return null;
  }
}
