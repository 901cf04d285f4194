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
 * harmless ones, URL passwords and secret URL query parameters hidden; of a webhook
 * sink's `url` only the scheme, host and port are shown (see redactWebhookUrl).
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
    const webhook = (node as { type?: unknown }).type === 'webhook';
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [
        k,
        webhook && k === 'url' && typeof v === 'string' ? redactWebhookUrl(v) : redactNode(v, k),
      ]),
    );
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

/** scheme://, userinfo (without its @), host and port, and the rest: path, query, fragment. */
const URL_PARTS = /^([a-z][a-z0-9+.-]*:\/\/)(?:([^/?#]*)@)?([^/?#]*)(.*)$/is;

/**
 * A webhook URL as it may be shown: its scheme, host and port. The path and query are the
 * credential of many receivers (a Slack or Teams incoming webhook is
 * `https://hooks.slack.com/services/T000/B000/XXXX`; others take `?token=`), so they
 * become `/[redacted]`, and userinfo `[redacted]@`. A URL with no path beyond `/` is shown
 * as it is; text that is no URL at all is hidden whole.
 */
export function redactWebhookUrl(url: string): string {
  const parts = URL_PARTS.exec(url);
  if (!parts) return REDACTED;
  const [, scheme = '', userinfo, hostAndPort = '', rest = ''] = parts;
  const user = userinfo === undefined ? '' : `${REDACTED}@`;
  return `${scheme}${user}${hostAndPort}${rest === '' || rest === '/' ? rest : `/${REDACTED}`}`;
}

/**
 * The secret parts of a webhook URL as text might repeat them (a receiver's error page:
 * Express answers `Cannot POST /services/T000/B000/XXXX`), longest first: its path and
 * query, each on its own and percent-decoded, the values of credential-like query
 * parameters, its userinfo and password. See scrubSecrets.
 */
export function webhookUrlSecrets(url: string): string[] {
  const parts = URL_PARTS.exec(url);
  if (!parts) return [url];
  const [, , userinfo = '', , rest = ''] = parts;
  const secrets = new Set<string>();
  const add = (text: string) => {
    if (text !== '' && text !== '/') secrets.add(text).add(decoded(text));
  };
  add(rest);
  add(rest.replace(/[?#].*$/s, ''));
  const query = /\?([^#]*)/.exec(rest)?.[1] ?? '';
  add(query);
  for (const pair of query.split('&')) {
    const equals = pair.indexOf('=');
    if (equals > 0 && isSecretParameter(pair.slice(0, equals))) add(pair.slice(equals + 1));
  }
  add(userinfo);
  if (userinfo.includes(':')) add(userinfo.slice(userinfo.indexOf(':') + 1));
  return [...secrets].sort((a, b) => b.length - a.length);
}

/** The text with every occurrence of each secret replaced by `[redacted]`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let scrubbed = text;
  for (const secret of secrets) scrubbed = scrubbed.replaceAll(secret, REDACTED);
  return scrubbed;
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
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
