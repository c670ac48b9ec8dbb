import { existsSync, mkdirSync, statSync } from 'node:fs';

/**
 * Parsers for commander options that name the flag and what it takes, so a wrong value stops
 * the command before any data is loaded: `--steps expects an integer >= 1 (got '-3')`.
 */

/** An integer >= `min`. */
export const integer = (flag: string, min: number) => (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min) throw new Error(`${flag} expects an integer >= ${min} (got '${v}')`);
  return n;
};

/** A finite number > 0. */
export const positiveNumber = (flag: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} expects a positive number (got '${v}')`);
  return n;
};

/** SGD momentum: a number in [0, 1) (1 and above never forget a gradient and diverge). */
export const momentum = (flag: string) => (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !(n >= 0 && n < 1)) throw new Error(`${flag} expects a number in [0, 1), e.g. 0.9 (got '${v}')`);
  return n;
};

/** Creates the --out directory (and its parents), or says why it cannot be one. */
export function makeOutDir(dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new Error(`--out ${dir}: exists and is not a directory`);
  mkdirSync(dir, { recursive: true });
}
