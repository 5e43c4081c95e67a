export * from './app.js';
export * from './auth.js';
export * from './errors.js';
export * from './server.js';
export * from './server-lock.js';
export * from './health.js';
export * from './log-sink.js';
export type * from '@suanli/schemas';
export * from './transition-detail.js';
