import { CfnBudget } from 'aws-cdk-lib/aws-budgets';
import { Construct } from 'constructs';

export interface BudgetProps {
  /** settings.budgetMonthlyUsd. */
  monthlyUsd: number;
  /** settings.alarmEmail: an e-mail subscriber (AWS sends no confirmation for budget mails). */
  alarmEmail?: string | undefined;
  /** settings.alarmTopicArn: the same topic the alarms notify (its policy must let budgets.amazonaws.com publish). */
  alarmTopicArn?: string | undefined;
}

/** Thresholds, in percent of the monthly budget: what has been spent, and what AWS forecasts for the month. */
export const BUDGET_NOTIFICATIONS = [
  { notificationType: 'ACTUAL', threshold: 80 },
  { notificationType: 'ACTUAL', threshold: 100 },
  { notificationType: 'FORECASTED', threshold: 100 },
] as const;

/**
 * An AWS Budgets monthly cost budget over the whole account (a personal account runs this stack;
 * a budget filtered on the stack's `service` tag would need that cost allocation tag activated
 * first, by hand, and counts nothing before). It alerts; it never stops anything: the reserved
 * concurrency and the API throttles are what cap the rate of spending (docs/hardening.md).
 */
export class Budget extends Construct {
  readonly budget: CfnBudget;

  constructor(scope: Construct, id: string, props: BudgetProps) {
    super(scope, id);
    const subscribers: CfnBudget.SubscriberProperty[] = [];
    if (props.alarmEmail) subscribers.push({ subscriptionType: 'EMAIL', address: props.alarmEmail });
    if (props.alarmTopicArn) subscribers.push({ subscriptionType: 'SNS', address: props.alarmTopicArn });
    this.budget = new CfnBudget(this, 'Monthly', {
      budget: {
        budgetType: 'COST',
        timeUnit: 'MONTHLY',
        budgetLimit: { amount: props.monthlyUsd, unit: 'USD' },
      },
      notificationsWithSubscribers: BUDGET_NOTIFICATIONS.map((n) => ({
        notification: { notificationType: n.notificationType, comparisonOperator: 'GREATER_THAN', threshold: n.threshold, thresholdType: 'PERCENTAGE' },
        subscribers,
      })),
    });
  }
}
