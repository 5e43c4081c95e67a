export * from './engine.js';
export * from './jobs.js';
