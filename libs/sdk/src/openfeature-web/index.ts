/**
 * `@flagstream/sdk/openfeature-web`: the OpenFeature web provider, on the browser client. Needs the
 * optional peer dependency `@openfeature/web-sdk`.
 */
export { FlagstreamWebProvider } from './flagstream-web.provider';
export type { FlagstreamWebClientOptions, FlagstreamWebProviderOptions } from './flagstream-web.provider';
