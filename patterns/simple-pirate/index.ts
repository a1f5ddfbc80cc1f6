/**
 * Simple Pirate (Guide ch4 "Basic Reliable Queuing"): an LRU queue between Lazy Pirate
 * clients and REQ workers that announce themselves with READY (0x01).
 * @module zeromq-patterns/simple-pirate
 */
export { SimplePirateQueue, type SimplePirateQueueEvents, type SimplePirateQueueOptions, type SimplePirateQueueStats } from "./queue.js";
export { SimplePirateWorker, type SimplePirateWorkerEvents, type SimplePirateWorkerOptions, type SimplePirateWorkerStats } from "./worker.js";
export { READY, READY_FRAME, checkRequest, parseBackend, type BackendMessage } from "./protocol.js";
