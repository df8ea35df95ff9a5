/**
 * Module resolution hooks (node:module `register`), loaded in Node's loader thread: the package
 * name `streamline` resolves to this build's public API, wherever the importing job module lives.
 */
import type { ResolveHook } from 'node:module';

const PUBLIC_API = new URL('../index.js', import.meta.url).href;

export const resolve: ResolveHook = (specifier, context, nextResolve) =>
  specifier === 'streamline' ? { url: PUBLIC_API, shortCircuit: true } : nextResolve(specifier, context);
