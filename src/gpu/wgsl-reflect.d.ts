// wgsl_reflect 1.6.0's bare import is broken under "type": "module" (CommonJS main); its ES module
// build is imported by path, with the package's own types.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
