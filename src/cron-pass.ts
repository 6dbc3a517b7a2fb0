import type { AppDeps } from "./app-env";
import { HOUSEKEEPING_CALLS, runHousekeeping } from "./db/retention";
import { runDispatchAll } from "./drip/dispatch-all";
import { errorFields } from "./lib/logger";
import { runWebhookDeliveries } from "./outbound/deliver";

/**
 * One cron run within the Worker's subrequest budget: lessons of every course first (`runDispatchAll`); then housekeeping and outbound
 * webhooks (issue 14) only once no lesson is waiting, within what is left. Endpoint leases keep
 * runs apart.
 */
export async function cronPass(deps: AppDeps): Promise<void> {
  const report = await runDispatchAll(deps);
  if (report.stoppedBy !== "done") return;
  let left = deps.config.dispatchBudget.maxSubrequests - report.calls;
  if (left >= HOUSEKEEPING_CALLS) {
    await runHousekeeping(deps);
    left -= HOUSEKEEPING_CALLS;
  }
  try {
    const webhooks = await runWebhookDeliveries(deps, { maxSubrequests: left });
    deps.logger.info("webhook_pass", { ...webhooks });
  } catch (error) {
    deps.logger.error("webhook_pass_failed", errorFields(error));
  }
}
