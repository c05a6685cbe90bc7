// Every Lambda-backed field of the read API: invoke the Python resolvers with the field, its
// arguments and the caller's identity; their {error: {code, message}} becomes a GraphQL error
// whose errorType is the code. On the subscription field the Lambda authorizes the caller and
// names the filter AppSync applies to each published update.
import { util, extensions } from '@aws-appsync/utils';

export function request(ctx) {
  return {
    operation: 'Invoke',
    payload: {
      field: ctx.info.fieldName,
      parentType: ctx.info.parentTypeName,
      arguments: ctx.arguments,
      identity: ctx.identity,
    },
  };
}

export function response(ctx) {
  if (ctx.error) {
    util.error(ctx.error.message, ctx.error.type);
  }
  const out = ctx.result;
  if (out.error) {
    util.error(out.error.message, out.error.code);
  }
  if (ctx.info.parentTypeName === 'Subscription') {
    const filter = { applicationId: { eq: out.data.applicationId } };
    if (out.data.metricNames) {
      filter.metricName = { in: out.data.metricNames };
    }
    extensions.setSubscriptionFilter(util.transform.toSubscriptionFilter(filter));
    return null;
  }
  return out.data;
}
