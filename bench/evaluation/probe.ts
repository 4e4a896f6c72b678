import { bucketOf, murmur3 } from '@flagstream/targeting';
const pairs: [string, string][] = [
  ['', ''], ['salt', 'user-1'], ['salt', 'user-2'], ['new-checkout', 'user-42'], ['new-checkout', 'alice@example.com'],
  ['dark-mode', '0'], ['dark-mode', '1234567890'], ['exp-2024', 'tenant:acme'], ['fläg', 'ユーザー'], ['emoji', '😀'],
  ['a-very-long-salt-value-for-testing-purposes', 'b1f0c2de-8d0f-4a3c-9c57-0f1e2d3c4b5a'], ['s', ''],
];
for (const [s, k] of pairs) {
  const h = murmur3(`${s}:${k}`);
  console.log(JSON.stringify({ salt: s, key: k, hash: h, bucket: bucketOf(s, k) }));
}
