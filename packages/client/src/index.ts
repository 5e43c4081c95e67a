export * from './client.js';
export * from './verdict-text.js';
