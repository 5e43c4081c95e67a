export * from './engine.js';
export * from './jobs.js';
export * from './policy.js';
export * from './training.js';
export * from './arrays.js';
export * from './health.js';
