import { W3_COUNTRIES, type BenchUser } from './workload.model';

/** mulberry32: a small deterministic PRNG, so every engine and every run sees the same users. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const OTHER_COUNTRIES = ['JP', 'BR', 'IN', 'CN', 'MX', 'AR', 'ZA', 'NG', 'EG', 'KR', 'ID', 'TR', 'SA', 'RU', 'UA', 'VN', 'TH', 'PH', 'CL', 'CO'];

/** `count` random users: half in the W3 country list, a third enterprise, 10% @example.com. */
export function benchUsers(count: number, seed = 42): BenchUser[] {
  // Through JSON, as contexts arrive in a service: flat strings, not the ropes template literals build.
  return JSON.parse(JSON.stringify(generate(count, seed))) as BenchUser[];
}

function generate(count: number, seed: number): BenchUser[] {
  const next = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(next() * 16).toString(16)).join('');
  return Array.from({ length: count }, () => {
    const key = `${hex(8)}-${hex(4)}-4${hex(3)}-${hex(4)}-${hex(12)}`;
    return {
      key,
      country: next() < 0.5 ? pick(W3_COUNTRIES) : pick(OTHER_COUNTRIES),
      plan: pick(['free', 'pro', 'enterprise']),
      email: `${hex(6)}@${next() < 0.1 ? 'example.com' : pick(['mail.org', 'corp.io', 'example.org'])}`,
      appVersion: `${Math.floor(next() * 4)}.${Math.floor(next() * 10)}.${Math.floor(next() * 10)}`,
    };
  });
}
