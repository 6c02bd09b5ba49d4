import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData, type Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { Api } from './api.js';
import type { BlobserverFunction } from './blobserver-function.js';

/** Any server error, function error or throttle in five minutes is worth a look. */
export const ALARM_PERIOD = Duration.minutes(5);

export interface AlarmsProps {
  api: Api;
  functions: Record<string, BlobserverFunction>;
  /** An existing SNS topic to notify; alarms still change state without one. */
  alarmTopicArn?: string | undefined;
}

export class Alarms extends Construct {
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const opts = { period: ALARM_PERIOD, statistic: 'Sum' };
    this.add('Api5xx', props.api.stage.metricServerError(opts), 'The HTTP API answered 5xx (handler failure, timeout or integration error)');
    for (const [name, f] of Object.entries(props.functions)) {
      this.add(`${name}Errors`, f.fn.metricErrors(opts), `Lambda ${name} failed invocations`);
      this.add(`${name}Throttles`, f.fn.metricThrottles(opts), `Lambda ${name} invocations were throttled`);
    }
    if (props.alarmTopicArn) {
      const action = new SnsAction(Topic.fromTopicArn(this, 'Topic', props.alarmTopicArn));
      for (const alarm of this.alarms) alarm.addAlarmAction(action);
    }
  }

  private add(id: string, metric: Metric, description: string): void {
    this.alarms.push(
      new Alarm(this, id, {
        metric,
        alarmDescription: description,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // No traffic is not an outage.
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
