/** Config keys whose values are secret (compared without case, `-`, `_` or `.`). */
const SECRET_KEY = /(secret|password|passwd|token|accesskey|credential|apikey|authorization)/;
/**
 * URL query parameters whose values are secret: the config-key words plus the names
 * signed and pre-authorized URLs use (`sig`, `signature`, `X-Amz-Credential`, `key`, `code`).
 */
const SECRET_PARAMETER = /(secret|password|passwd|pwd|token|key|credential|auth|sig|code|session)/;
/**
 * Header values shown as they are; every other header value is treated as a credential,
 * whatever its name (`X-Api-Key`, `Api-Key`, `X-Tenant-Secret`, a vendor's own name ...).
 */
const HARMLESS_HEADERS = new Set([
  'accept',
  'accept-charset',
  'accept-encoding',
  'accept-language',
  'cache-control',
  'connection',
  'content-encoding',
  'content-language',
  'content-type',
  'pragma',
  'user-agent',
]);
export const REDACTED = '[redacted]';

/**
 * A copy of the config safe to print or log: secret values, every header value but
 * harmless ones, URL passwords and secret URL query parameters hidden.
 */
export function redactConfig<T>(config: T): T {
  return redactNode(config) as T;
}

function redactNode(node: unknown, key = ''): unknown {
  if (typeof node === 'string') {
    if (isSecretKey(key) && node !== '') return REDACTED;
    return redactUrl(node);
  }
  if (Array.isArray(node)) return node.map((item) => redactNode(item));
  if (node !== null && typeof node === 'object') {
    if (key === 'headers') return redactHeaders(node);
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, redactNode(v, k)]));
  }
  return node;
}

function redactHeaders(headers: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, redactHeaderValue(name, value)]),
  );
}

/** A header's value as it may be shown: itself for harmless headers, else `[redacted]`. */
export function redactHeaderValue(name: string, value: unknown): unknown {
  if (HARMLESS_HEADERS.has(name.toLowerCase()) || value === '') return value;
  return REDACTED;
}

function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(normalized(key));
}

function normalized(name: string): string {
  return name.toLowerCase().replace(/[-_.\s]/g, '');
}

/**
 * The URL with its password and secret query parameters' values replaced by
 * `[redacted]`; any other text as it is. Rewritten as text, not through `URL`, so the rest
 * reads exactly as configured.
 */
export function redactUrl(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  const withoutPassword = text.replace(
    /^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:)([^/?#]*)@/i,
    (whole, head: string, password: string) => (password ? `${head}${REDACTED}@` : whole),
  );
  return withoutPassword.replace(/\?([^#]*)/, (_query, parameters: string) => {
    const redacted = parameters.split('&').map((pair) => {
      const equals = pair.indexOf('=');
      if (equals < 0) return pair;
      const name = pair.slice(0, equals);
      return isSecretParameter(name) ? `${name}=${REDACTED}` : pair;
    });
    return `?${redacted.join('&')}`;
  });
}

function isSecretParameter(encodedName: string): boolean {
  let name = encodedName;
  try {
    name = decodeURIComponent(encodedName.replace(/\+/g, ' '));
  } catch {
    // A malformed escape: judge the name as written.
  }
  return SECRET_PARAMETER.test(normalized(name));
}
