export type { Chunk, ChunkSource, OpenChunkSource } from './chunk-source.js'
export type { BatchOptions, Progress } from './options.js'
export { DEFAULT_CHUNK_SIZE, DEFAULT_PREFETCH } from './options.js'
