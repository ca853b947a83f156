import { isAbsolute, join } from 'node:path';
import type { ComponentContext } from '../../config/context.ts';
import type { SourceSpec } from '../source.ts';
import { parseFileGroupPath, type FileGroup } from './discovery.ts';
import { TaildirSource, type TaildirOptions } from './source.ts';
import type { LongLines } from './reader.ts';

/** Default longest line: 64 KiB. Longer lines are split (default) or truncated, never buffered whole. */
export const DEFAULT_MAX_LINE_LENGTH = 65536;
/** Default bound on descriptors held open at once. */
export const DEFAULT_MAX_OPEN_FILES = 256;

const KEYS = 'filegroups, filegroups.<group>, headers.<group>.<key>, positionFile, skipToEnd, idleTimeout, writePosInterval, '
  + 'batchSize, maxBatchCount, backoffSleepIncrement, maxBackoffSleep, fileHeader, fileHeaderKey, byteOffsetHeader, '
  + 'cachePatternMatching, paths, exclude, defaultExcludes, skipToEndOnFirstStart, maxLineLength, longLines, maxOpenFiles';

export function parseTaildirOptions(ctx: ComponentContext): TaildirOptions {
  const groupNames = ctx.list('filegroups');
  const paths = ctx.list('paths');
  if (groupNames.length === 0 && paths.length === 0) {
    ctx.error('filegroups', 'missing', 'a space-separated list of file groups (or `paths`: directories or globs)');
  }
  const groups: FileGroup[] = [];
  for (const g of groupNames) {
    const key = `filegroups.${g}`;
    const value = ctx.optionalString(key);
    if (value === undefined || value.trim() === '') {
      ctx.problems.error(ctx.line, ctx.fullKey(key), 'missing', 'an absolute path: a directory, then a regex over file names');
      continue;
    }
    const parsed = parseFileGroupPath(value.trim());
    if ('error' in parsed) ctx.error(key, `"${value}"`, parsed.error);
    else groups.push({ name: g, ...parsed });
  }
  for (const p of paths) {
    if (!isAbsolute(p)) ctx.error('paths', `"${p}"`, 'absolute paths (directories, files or globs)');
  }
  const groupHeaders: Record<string, Record<string, string>> = {};
  for (const [k, e] of ctx.sub('headers')) {
    const dot = k.indexOf('.');
    const g = dot < 0 ? '' : k.slice(0, dot);
    if (dot < 0 || !groupNames.includes(g)) {
      ctx.problems.error(e.line, ctx.fullKey(`headers.${k}`), 'a header for an unknown file group', `headers.<one of: ${groupNames.join(' ') || 'no groups'}>.<key>`);
      continue;
    }
    (groupHeaders[g] ??= {})[k.slice(dot + 1)] = e.value;
  }
  const positionFile = ctx.optionalString('positionFile');
  if (positionFile !== undefined && !isAbsolute(positionFile.trim())) ctx.error('positionFile', `"${positionFile}"`, 'an absolute path');
  const maxBatchCount = ctx.int('maxBatchCount', 0);
  ctx.bool('cachePatternMatching', true); // accepted for Flume configs; listing is cheap and always fresh here
  return {
    groups,
    groupHeaders,
    paths: paths.filter((p) => isAbsolute(p)),
    exclude: ctx.list('exclude'),
    defaultExcludes: ctx.bool('defaultExcludes', true),
    positionFile: positionFile?.trim() || undefined,
    skipToEnd: ctx.bool('skipToEnd', false),
    skipToEndOnFirstStart: ctx.bool('skipToEndOnFirstStart', false),
    idleTimeout: ctx.int('idleTimeout', 120000, { min: 0 }),
    writePosInterval: ctx.int('writePosInterval', 3000, { min: 0 }),
    batchSize: ctx.int('batchSize', 100, { min: 1 }),
    // Flume: <= 0 means the default, unlimited
    maxBatchCount: maxBatchCount <= 0 ? Number.POSITIVE_INFINITY : maxBatchCount,
    backoffSleepIncrement: ctx.int('backoffSleepIncrement', 1000, { min: 1 }),
    maxBackoffSleep: ctx.int('maxBackoffSleep', 5000, { min: 1 }),
    fileHeader: ctx.bool('fileHeader', false),
    fileHeaderKey: ctx.string('fileHeaderKey', 'file'),
    byteOffsetHeader: ctx.bool('byteOffsetHeader', false),
    maxLineLength: ctx.int('maxLineLength', DEFAULT_MAX_LINE_LENGTH, { min: 16, max: 64 * 1024 * 1024 }),
    longLines: ctx.oneOf<LongLines>('longLines', 'split', ['split', 'truncate']),
    maxOpenFiles: ctx.int('maxOpenFiles', DEFAULT_MAX_OPEN_FILES, { min: 1 }),
  };
}

export function defaultPositionFile(stateDir: string, sourceName: string): string {
  return join(stateDir, 'taildir', `${sourceName}.positions.json`);
}

export const taildirSourceSpec: SourceSpec<TaildirOptions> = {
  type: 'TAILDIR',
  keys: KEYS,
  parse: parseTaildirOptions,
  create(opts, deps) {
    return new TaildirSource(opts, deps, opts.positionFile ?? defaultPositionFile(deps.stateDir, deps.name));
  },
};
