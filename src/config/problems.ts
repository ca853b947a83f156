/** A configuration problem, with everything a user needs to find and fix it. */
export interface ConfigProblem {
  severity: 'error' | 'warning';
  file: string;
  line: number;
  key: string;
  found: string;
  expected: string;
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}` : p.file;
  return `${where}: ${p.severity}: ${p.key}: ${p.found}; expected ${p.expected}`;
}

export class Problems {
  readonly list: ConfigProblem[] = [];
  constructor(readonly file: string) {}
  error(line: number, key: string, found: string, expected: string): void {
    this.list.push({ severity: 'error', file: this.file, line, key, found, expected });
  }
  warning(line: number, key: string, found: string, expected: string): void {
    this.list.push({ severity: 'warning', file: this.file, line, key, found, expected });
  }
  get errors(): ConfigProblem[] { return this.list.filter((p) => p.severity === 'error'); }
  get warnings(): ConfigProblem[] { return this.list.filter((p) => p.severity === 'warning'); }
}
