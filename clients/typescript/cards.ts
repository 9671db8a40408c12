// Card configs and render data are typed by `card_type`: card bodies, cards and rendered cards
// are unions with one member per card type (the spec's `oneOf` with a `discriminator`), whose
// `config` is that type's config schema. `tsc --noEmit -p clients/typescript` checks this file
// against the generated `generated/api.d.ts`: the right configs must compile, and each line
// after a `@ts-expect-error` must be a type error (tsc fails on a directive that catches none).
import type { components } from "./generated/api";

type Schemas = components["schemas"];

// --- bodies that fit --------------------------------------------------------------------------

export const kpi: Schemas["CardCreate"] = {
  card_type: "kpi",
  config: {
    dataset_id: 1,
    metric: { agg: "sum", column: "amount" },
    filters: [{ column: "region", op: "in", value: { param: "region" } }],
    label: "Revenue",
  },
};
export const chart: Schemas["CardCreate"] = {
  card_type: "chart",
  config: {
    dataset_id: 1,
    chart_type: "line",
    x: { column: "ordered_at", bucket: "month" },
    metrics: [{ agg: "count" }],
    sort: [{ by: "ordered_at", direction: "asc" }],
  },
  layout: { x: 0, y: 0, w: 12, h: 8 },
};
export const table: Schemas["CardCreate"] = { card_type: "table", config: { dataset_id: 1, columns: ["day", "amount"] } };
export const chooser: Schemas["CardCreate"] = { card_type: "filter", config: { parameter: "region", dataset_id: 1, column: "region" } };
export const retyped: Schemas["CardUpdate"] = { card_type: "text", config: { markdown: "## Notes" } };
export const sameType: Schemas["CardUpdate"] = { config: { markdown: "## Notes" } };
export const moved: Schemas["CardUpdate"] = { page: 2 };

// --- bodies that do not -----------------------------------------------------------------------

// @ts-expect-error a kpi's config is the kpi config schema, not any object
export const freeForm: Schemas["CardCreate"] = { card_type: "kpi", config: { totally: "wrong" } };
// @ts-expect-error another card type's config
export const textAsKpi: Schemas["CardCreate"] = { card_type: "kpi", config: { markdown: "## Revenue" } };
export const extraField: Schemas["CardCreate"] = {
  card_type: "kpi",
  // @ts-expect-error a field the kpi config does not have
  config: { dataset_id: 1, metric: { agg: "count" }, colour: "red" },
};
// @ts-expect-error an aggregation the query vocabulary does not have
export const median: Schemas["KpiConfig"] = { dataset_id: 1, metric: { agg: "median", column: "amount" } };
// @ts-expect-error a chart type that does not exist
export const donut: Schemas["ChartConfig"] = { dataset_id: 1, chart_type: "donut", x: { column: "region" }, metrics: [{ agg: "count" }] };
// @ts-expect-error a filter operator that does not exist
export const like: Schemas["QueryFilter"] = { column: "region", op: "like", value: "E%" };
// @ts-expect-error a text card's config needs its markdown
export const emptyText: Schemas["CardCreate"] = { card_type: "text", config: {} };
// @ts-expect-error a new card_type on PATCH comes with a config of that type
export const retypedWrong: Schemas["CardUpdate"] = { card_type: "kpi", config: { markdown: "## Notes" } };
// @ts-expect-error a new card_type on PATCH comes with a config at all
export const retypedBare: Schemas["CardUpdate"] = { card_type: "kpi" };

// --- answers: narrowing on card_type gives that type's config and data ------------------------

export function describe(card: Schemas["Card"]): string {
  switch (card.card_type) {
    case "kpi":
      return `${card.config.metric.agg} over dataset ${card.config.dataset_id}`;
    case "chart":
      return `${card.config.chart_type} chart of ${card.config.metrics.length} metrics`;
    case "text":
      return card.config.markdown;
    default:
      return card.card_type;
  }
}

export function tile(card: Schemas["RenderedCard"]): string {
  if (card.error) return `${card.error.code}: ${card.error.message}`;
  switch (card.card_type) {
    case "text":
      return card.data?.markdown ?? "";
    case "image":
      return card.data?.url ?? "";
    case "kpi":
      return `${card.data?.label}: ${card.data?.value ?? "-"}`;
    case "chart":
    case "table":
      return `${card.data?.rows.length ?? 0} rows of ${card.data?.columns.map((column) => column.name).join(", ")}`;
    case "detail":
      return JSON.stringify(card.data?.record ?? null);
    case "filter":
      return `${card.data?.parameter}: ${card.data?.options.length ?? 0} options`;
    default: {
      const unknownType: never = card; // every card type is handled above
      return unknownType;
    }
  }
}

export function textRows(card: Schemas["TextRenderedCard"]): unknown {
  // @ts-expect-error a text card's data has no rows
  return card.data?.rows;
}
