// jose 6 declares its types only through package.json "exports", which the repo's `node10` module
// resolution does not read; point the bare specifier at the same declaration file.
declare module 'jose' {
  export * from 'jose/dist/types/index';
}
