import type { InterceptorSpec } from './interceptor.ts';
import { hostInterceptorSpec } from './host.ts';
import { regexExtractorInterceptorSpec } from './regex-extractor.ts';
import { regexFilterInterceptorSpec } from './regex-filter.ts';
import { removeHeaderInterceptorSpec } from './remove-header.ts';
import { searchReplaceInterceptorSpec } from './search-replace.ts';
import { staticInterceptorSpec } from './static.ts';
import { timestampInterceptorSpec } from './timestamp.ts';
import { uuidInterceptorSpec } from './uuid.ts';

export { hostInterceptorSpec, regexExtractorInterceptorSpec, regexFilterInterceptorSpec, removeHeaderInterceptorSpec, searchReplaceInterceptorSpec, staticInterceptorSpec, timestampInterceptorSpec, uuidInterceptorSpec };

/** Every interceptor type, in the order Flume's guide lists them. */
export const interceptorSpecs: InterceptorSpec[] = [
  timestampInterceptorSpec,
  hostInterceptorSpec,
  staticInterceptorSpec,
  removeHeaderInterceptorSpec,
  uuidInterceptorSpec,
  regexFilterInterceptorSpec,
  regexExtractorInterceptorSpec,
  searchReplaceInterceptorSpec,
];

/** Flume's Builder class names, so a Flume config that names the class works unchanged. */
const CLASS_NAMES: Record<string, InterceptorSpec> = {
  'org.apache.flume.interceptor.TimestampInterceptor$Builder': timestampInterceptorSpec,
  'org.apache.flume.interceptor.HostInterceptor$Builder': hostInterceptorSpec,
  'org.apache.flume.interceptor.StaticInterceptor$Builder': staticInterceptorSpec,
  'org.apache.flume.interceptor.RemoveHeaderInterceptor$Builder': removeHeaderInterceptorSpec,
  'org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder': uuidInterceptorSpec,
  'org.apache.flume.interceptor.RegexFilteringInterceptor$Builder': regexFilterInterceptorSpec,
  'org.apache.flume.interceptor.RegexExtractorInterceptor$Builder': regexExtractorInterceptorSpec,
  'org.apache.flume.interceptor.SearchAndReplaceInterceptor$Builder': searchReplaceInterceptorSpec,
};

const BY_NAME = new Map<string, InterceptorSpec>([
  ...interceptorSpecs.map((s) => [s.type, s] as const),
  ...Object.entries(CLASS_NAMES).map(([k, s]) => [k.toLowerCase(), s] as const),
]);

/**
 * The spec for a `type` value: an alias (`timestamp`, `TIMESTAMP` — Flume
 * upper-cases aliases, so any case works) or a Flume Builder class name
 * (matched case-insensitively too). Undefined when unknown.
 */
export function findInterceptorSpec(type: string): InterceptorSpec | undefined {
  return BY_NAME.get(type.trim().toLowerCase());
}
