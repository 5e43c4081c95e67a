export * from './app.js';
export * from './auth.js';
export * from './errors.js';
export * from './server.js';
export type * from './schemas/index.js';
