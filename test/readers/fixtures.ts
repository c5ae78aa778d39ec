/** Locates the shared real-file fixtures (shared/ sits beside the repository root). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const fixtureUrl = (rel: string): URL => new URL(`../../../shared/fixtures/formats/${rel}`, import.meta.url);
export const fixturePath = (rel: string): string => fileURLToPath(fixtureUrl(rel));
export const fixtureBytes = (rel: string): Uint8Array => new Uint8Array(readFileSync(fixtureUrl(rel)));
