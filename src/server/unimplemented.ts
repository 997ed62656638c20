import {
  status,
  type sendUnaryData,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';

/**
 * Fills every method of a service that has no handler yet with one answering UNIMPLEMENTED, so
 * a client learns clearly what is missing instead of getting a crash or a hang.
 */
export function withUnimplemented<T extends UntypedServiceImplementation>(
  definition: ServiceDefinition,
  implemented: Partial<T>,
): T {
  const full: UntypedServiceImplementation = { ...implemented } as UntypedServiceImplementation;
  for (const [name, method] of Object.entries(definition)) {
    if (full[name]) continue;
    const error = { code: status.UNIMPLEMENTED, details: `${method.path} is not implemented by cricket yet` };
    const handler = method.responseStream
      ? (call: ServerWritableStream<unknown, unknown>) => call.emit('error', error)
      : (_call: unknown, callback: sendUnaryData<unknown>) => callback(error);
    full[name] = handler as UntypedHandleCall;
  }
  return full as T;
}
