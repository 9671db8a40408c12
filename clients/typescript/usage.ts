// A frontend's use of the generated types: `generated/api.d.ts` comes from
// `npx openapi-typescript openapi.yaml -o clients/typescript/generated/api.d.ts` and is never
// committed. `tsc --noEmit -p clients/typescript` fails when the contract and this file disagree.
import type { components, operations } from "./generated/api";

type Schemas = components["schemas"];
// Operations by their operationIds, the names the spec gives them for generated code.
type RenderAnswer = operations["renderDashboard"]["responses"][200]["content"]["application/json"];
type DashboardQuery = NonNullable<operations["listDashboards"]["parameters"]["query"]>;

export class DashboardsApi {
  constructor(private readonly base: string, private readonly token: string) {}

  private async call<T>(method: string, path: string, expected: number, body?: unknown): Promise<T> {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status !== expected) {
      const problem = (await response.json()) as Schemas["Problem"];
      throw new Error(`${problem.status} ${problem.error}: ${problem.detail ?? problem.title}`);
    }
    return (await response.json()) as T;
  }

  createCollection(body: Schemas["CollectionCreate"]): Promise<Schemas["Collection"]> {
    return this.call("POST", "/dashboards/collections", 201, body);
  }

  createDashboard(body: Schemas["DashboardCreate"]): Promise<Schemas["DashboardDetail"]> {
    return this.call("POST", "/dashboards", 201, body);
  }

  addCard(dashboardId: number, body: Schemas["CardCreate"]): Promise<Schemas["Card"]> {
    return this.call("POST", `/dashboards/${dashboardId}/cards`, 201, body);
  }

  listDashboards(query: DashboardQuery = {}): Promise<Schemas["DashboardList"]> {
    const search = new URLSearchParams(Object.entries(query).map(([name, value]) => [name, String(value)]));
    return this.call("GET", `/dashboards?${search}`, 200);
  }

  render(dashboardId: number, page = 1): Promise<RenderAnswer> {
    return this.call("GET", `/dashboards/${dashboardId}/render?page=${page}`, 200);
  }
}

export async function buildRevenueDashboard(api: DashboardsApi): Promise<string[]> {
  const collection = await api.createCollection({ name: "Sales" });
  const dashboard = await api.createDashboard({
    name: "Revenue",
    collection_id: collection.id,
    default_audience: "org",
    parameters: [{ name: "region", type: "string", multiple: true, default: ["EMEA", "APAC"] }],
  });
  await api.addCard(dashboard.id, {
    card_type: "text",
    config: { markdown: "## Revenue" },
    layout: { x: 0, y: 0, w: 12, h: 2 },
  });
  const inSales = await api.listDashboards({ collection_id: collection.id });
  if (!inSales.items.some((listed) => listed.id === dashboard.id)) throw new Error("not listed");
  const rendered = await api.render(dashboard.id);
  // Each tile answers data or an error, never both: the frontend shows one or the other.
  return rendered.cards.map((card) => (card.error ? `${card.card_id}: ${card.error.code}` : card.card_type));
}

// The types are real, not `any`: each line below must be a type error.
// @ts-expect-error an unknown card type
export const unknownType: Schemas["CardCreate"] = { card_type: "sparkline", config: {} };
// @ts-expect-error a dashboard needs a name
export const nameless: Schemas["DashboardCreate"] = { description: "no name" };
// @ts-expect-error a parameter's default is a value, a list of values or null, not an object
export const objectDefault: Schemas["ParameterDefinition"] = { name: "region", type: "string", default: { v: 1 } };
// @ts-expect-error list filters are the spec's query parameters, and `collection` is not one
export const unknownFilter: DashboardQuery = { collection: 3 };
// @ts-expect-error audiences are an enum
export const audience: Schemas["Audience"] = "everyone";
