// WGSL has no imports: a line `// #include "lib/x.wgsl"` in a kernel under shaders/ stands for
// that file's text (code shared by kernel variants; shaders/lib/ holds no kernels of its own).
// Used by scripts/embed-shaders.mjs and by the staleness test (test/gpu/reflect.test.ts).

/** `text` with every include line replaced by `read(path relative to shaders/)`. */
export const expandIncludes = (text, read) => text.replace(/^\/\/ #include "([^"]+)".*$/gm, (_, inc) => read(inc).trimEnd());
