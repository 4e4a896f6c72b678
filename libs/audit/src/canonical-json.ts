import canonicalizeJson from 'canonicalize';

/** RFC 8785 (JSON Canonicalization Scheme) through the `canonicalize` package. */
export function canonicalize(value: unknown): string {
  const text = canonicalizeJson(value);
  if (text === undefined) throw new TypeError('value cannot be canonicalised as JSON');
  return text;
}
