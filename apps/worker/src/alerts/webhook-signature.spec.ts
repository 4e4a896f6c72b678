import { signWebhook, verifyWebhookSignature } from './webhook-signature';

const SECRET = 'whsec-test-0123456789abcdef0123456789abcdef';
const BODY = '{"id":"rollback-plan-42-v3","type":"release_plan.guardrail_breached"}';
const T = 1_700_000_000;
const AT_T = T * 1000;

describe('signWebhook', () => {
  it('matches an HMAC-SHA256 computed independently by openssl', () => {
    // printf '%s' '1700000000.{"id":"rollback-plan-42-v3","type":"release_plan.guardrail_breached"}' \
    //   | openssl dgst -sha256 -hmac 'whsec-test-0123456789abcdef0123456789abcdef'
    expect(signWebhook(SECRET, T, BODY)).toBe('t=1700000000,v1=ccc57631710430ffd57b7ee9ad2d5b02d1b0659d754156086b9f6f3ee6eb87ad');
  });

  it('signs the UTF-8 bytes of the body, the same as a Buffer of them', () => {
    // printf '%s' '1712345678.{"summary":"Déploiement annulé — 5xx > 2%"}' \
    //   | openssl dgst -sha256 -hmac 'whsec-test-0123456789abcdef0123456789abcdef'
    const body = '{"summary":"Déploiement annulé — 5xx > 2%"}';
    const expected = 't=1712345678,v1=657c70c7f7443ff277aa58e098eb1c1d68932954b03cb0a92763914c11c183fb';
    expect(signWebhook(SECRET, 1_712_345_678, body)).toBe(expected);
    expect(signWebhook(SECRET, 1_712_345_678, Buffer.from(body, 'utf8'))).toBe(expected);
  });

  it('refuses a timestamp that is not whole seconds', () => {
    expect(() => signWebhook(SECRET, 1.5, BODY)).toThrow(RangeError);
    expect(() => signWebhook(SECRET, -1, BODY)).toThrow(/non-negative integer/);
  });
});

describe('verifyWebhookSignature', () => {
  const header = signWebhook(SECRET, T, BODY);

  it('accepts the signature of the body, as a string or as the raw bytes', () => {
    expect(verifyWebhookSignature(SECRET, header, BODY, { now: AT_T })).toBe(true);
    expect(verifyWebhookSignature(SECRET, header, Buffer.from(BODY), { now: AT_T + 1000 })).toBe(true);
  });

  it('refuses another body, another secret, another timestamp', () => {
    expect(verifyWebhookSignature(SECRET, header, BODY.replace('42', '43'), { now: AT_T })).toBe(false);
    expect(verifyWebhookSignature(`${SECRET}x`, header, BODY, { now: AT_T })).toBe(false);
    expect(verifyWebhookSignature(SECRET, header.replace(`t=${T}`, `t=${T + 1}`), BODY, { now: AT_T })).toBe(false);
  });

  it('accepts a timestamp within the tolerance either way, and refuses one beyond it', () => {
    expect(verifyWebhookSignature(SECRET, header, BODY, { now: AT_T + 300_000 })).toBe(true);
    expect(verifyWebhookSignature(SECRET, header, BODY, { now: AT_T - 300_000 })).toBe(true);
    expect(verifyWebhookSignature(SECRET, header, BODY, { now: AT_T + 301_000 })).toBe(false);
    expect(verifyWebhookSignature(SECRET, header, BODY, { now: AT_T - 301_000 })).toBe(false);
    expect(verifyWebhookSignature(SECRET, header, BODY, { now: AT_T + 20_000, toleranceSeconds: 10 })).toBe(false);
    expect(verifyWebhookSignature(SECRET, header, BODY, { now: AT_T + 10_000, toleranceSeconds: 10 })).toBe(true);
  });

  it('uses the real clock by default', () => {
    const fresh = signWebhook(SECRET, Math.floor(Date.now() / 1000), BODY);
    expect(verifyWebhookSignature(SECRET, fresh, BODY)).toBe(true);
    expect(verifyWebhookSignature(SECRET, header, BODY)).toBe(false);
  });

  it('accepts any matching v1 entry (secret rotation) and ignores unknown schemes', () => {
    const other = signWebhook('another-secret-0123456789abcdef0123', T, BODY).split(',')[1];
    expect(verifyWebhookSignature(SECRET, `${header},${other}`, BODY, { now: AT_T })).toBe(true);
    expect(verifyWebhookSignature(SECRET, `t=${T},${other},${header.split(',')[1]}`, BODY, { now: AT_T })).toBe(true);
    expect(verifyWebhookSignature(SECRET, `${header},v2=abc`, BODY, { now: AT_T })).toBe(true);
    expect(verifyWebhookSignature(SECRET, `t=${T},${other}`, BODY, { now: AT_T })).toBe(false);
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['no timestamp', header.split(',')[1]],
    ['no v1', `t=${T}`],
    ['two timestamps', `t=${T},${header}`],
    ['a timestamp in milliseconds', header.replace(`t=${T}`, `t=${AT_T}`)],
    ['a non-numeric timestamp', header.replace(`t=${T}`, 't=abc')],
    ['a truncated v1', header.slice(0, -2)],
    ['an uppercase v1', header.replace(/v1=(.*)$/, (_m, hex: string) => `v1=${hex.toUpperCase()}`)],
    ['an entry without "="', `${header},junk`],
  ])('refuses %s', (_case, bad) => {
    expect(verifyWebhookSignature(SECRET, bad, BODY, { now: AT_T })).toBe(false);
  });
});
