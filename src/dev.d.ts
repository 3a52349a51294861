/** Replaced at build time: `true` in the development build, `false` in the production build. */
declare const __DEV__: boolean
