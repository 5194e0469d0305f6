// The same alerts as Grafana-managed alert rules, in Grafana's file-provisioning format
// (provisioning/alerting/*.yml): each rule is its Prometheus value query (A) and a threshold
// expression (B) on it, so Grafana and Prometheus fire on exactly the same series.
import { type AlertDefinition, type AlertOptions, alertDefinitions, GROUP } from "./alerts.ts";

export interface GrafanaAlertingOptions extends AlertOptions {
  /** uid of the Prometheus datasource in your Grafana (default "prometheus", as deploy/ provisions it) */
  datasourceUid?: string;
  /** folder the rules are filed under (default "Ballast") */
  folder?: string;
}

// Grafana's `$value` is a description of every query; the number of query A is `$values.A.Value`.
const grafanaTemplate = (text: string) => text.replaceAll("$value", "$values.A.Value");

function rule(d: AlertDefinition, datasourceUid: string) {
  return {
    uid: `ballast-${d.alert.toLowerCase()}`,
    title: d.alert,
    condition: "B",
    data: [
      {
        refId: "A",
        relativeTimeRange: { from: 600, to: 0 },
        datasourceUid,
        model: { refId: "A", expr: d.query, instant: true, range: false },
      },
      {
        refId: "B",
        datasourceUid: "__expr__",
        model: {
          refId: "B",
          type: "threshold",
          expression: "A",
          conditions: [{ evaluator: { type: d.op === ">" ? "gt" : "lt", params: [d.threshold] } }],
        },
      },
    ],
    // no series means no traffic of that kind, which is not a problem
    noDataState: "OK",
    execErrState: "Error",
    for: d.for ?? "0s",
    labels: d.labels,
    annotations: {
      summary: d.annotations.summary,
      description: grafanaTemplate(d.annotations.description),
      runbook_url: d.annotations.runbook_url,
    },
  };
}

export function grafanaAlerting(options: GrafanaAlertingOptions = {}) {
  const datasourceUid = options.datasourceUid ?? "prometheus";
  if (!/^[\w-]{1,40}$/.test(datasourceUid)) {
    throw new TypeError(
      `grafanaAlerting: \`datasourceUid\` must be a Grafana uid (1–40 letters, digits, - or _); got ${JSON.stringify(datasourceUid)}`,
    );
  }
  return {
    apiVersion: 1,
    groups: [
      {
        orgId: 1,
        name: GROUP,
        folder: options.folder ?? "Ballast",
        interval: "1m",
        rules: alertDefinitions(options).map((d) => rule(d, datasourceUid)),
      },
    ],
  };
}
