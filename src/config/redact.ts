const SECRET_KEY = /(secret|password|token|accesskey|credential|apikey|authorization)/i;
const REDACTED = '[redacted]';

/** A copy of the config safe to print or log: secret values and URL passwords hidden. */
export function redactConfig<T>(config: T): T {
  return redactNode(config) as T;
}

function redactNode(node: unknown, key = ''): unknown {
  if (typeof node === 'string') {
    if (SECRET_KEY.test(key) && node !== '') return REDACTED;
    return redactUrlPassword(node);
  }
  if (Array.isArray(node)) return node.map((item) => redactNode(item));
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, redactNode(v, k)]));
  }
  return node;
}

function redactUrlPassword(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/]*:[^/]*@/i.test(text)) return text;
  try {
    const url = new URL(text);
    if (url.password === '') return text;
    url.password = REDACTED;
    return url.toString();
  } catch {
    return text;
  }
}
