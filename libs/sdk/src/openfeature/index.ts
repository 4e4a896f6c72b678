/**
 * `@flagstream/sdk/openfeature`: the OpenFeature server provider. Needs the optional peer
 * dependency `@openfeature/server-sdk`.
 */
export { FlagstreamProvider } from './flagstream.provider';
export type { FlagstreamProviderOptions } from './flagstream.provider';
