/**
 * A log pipe and a pino transport after Message::Passing::ZeroMQ: structured log messages
 * move from an input (stdin, a file, SUB/PULL) through optional filters to an output (stdout,
 * a file, PUB/PUSH); the sending side never blocks nor crashes when the collector is away.
 * The pino transport itself is the subpath export `zeromq-patterns/pino-transport`.
 * @module zeromq-patterns/log-pipe
 */
export { LogSender, type LogSenderOptions, type LogSenderStats, type LogSenderEvents, type SenderType, type DropPolicy } from "./sender.js";
export { LogReceiver, type LogReceiverOptions, type LogReceiverStats, type LogReceiverEvents, type ReceiverType } from "./receiver.js";
export { Pipe, loadFilter, type PipeOptions, type PipeStats, type PipeInput, type PipeOutput, type Codec, type Filter } from "./pipe.js";
export { LineInput } from "./line-input.js";
export { StreamOutput } from "./stream-output.js";
export { FileOutput } from "./file-output.js";
export { endpointLists, type EndpointLists } from "./endpoints.js";
export { zeromqTransport, STATS_EVENT, type PinoTransportOptions } from "./pino-transport.js";
