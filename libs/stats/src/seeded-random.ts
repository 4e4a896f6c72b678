// Bound once: a global lookup (Math.imul) per draw is ~20x slower inside Jest's vm context.
const imul = Math.imul;

/**
 * mulberry32: a small, fast, seeded 32-bit PRNG for the simulation specs (every run identical, so
 * a failure is a property of the code, not bad luck). Not exported from the library.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
