// publishMetricUpdate on the NONE data source: the stream processor's input is the update;
// AppSync hands it to the metricUpdates subscriptions whose filter matches.
export function request(ctx) {
  return { payload: ctx.arguments.input };
}

export function response(ctx) {
  return ctx.result;
}
