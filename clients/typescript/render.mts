// A frontend's render through openapi-fetch, typed by openapi-typescript's `paths`, against a
// live server: `generated/api.d.ts` comes from
// `npx openapi-typescript openapi.yaml --default-non-nullable false -o clients/typescript/generated/api.d.ts`.
// `tsc -p clients/typescript/tsconfig.render.json` compiles it to `build/render.mjs`, and
//     node clients/typescript/build/render.mjs http://127.0.0.1:8000/api TOKEN
// prints one JSON line with what each render answered (tests/test_clients.py reads it).
//
// Render values go in the POST render's JSON body as the spec types them: one value for a
// single-valued parameter, a list for a `multiple` one, no casts. The GET render's `param` takes
// one value per name as well (openapi-fetch writes `param[name]=value`); a list there is a
// nested array, which openapi-fetch's query serializer refuses, so lists go in the body.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/api";

declare const process: { argv: string[] };

type Values = NonNullable<components["schemas"]["RenderRequest"]["parameters"]>;
type Render = components["schemas"]["Render"];

function must<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined) {
    throw new Error(`${result.response.status}: ${JSON.stringify(result.error)}`);
  }
  return result.data;
}

// What a test reads of a render: the values it used and each card's data.
function summary(render: Render) {
  return { parameters: render.dashboard.parameters, cards: render.cards };
}

async function main(base: string, token: string) {
  const api = createClient<paths>({ baseUrl: base, headers: { Authorization: `Bearer ${token}` } });
  const dataset = must(await api.POST("/datasets", {
    body: {
      name: "Orders",
      columns: [{ name: "region", type: "string" }, { name: "amount", type: "number" }],
      rows: [["EMEA", 120.5], ["APAC", 80.0], ["AMER", 40.0]],
    },
  }));
  const dashboard = must(await api.POST("/dashboards", {
    body: {
      name: "Revenue",
      parameters: [
        { name: "region", type: "string", multiple: true, default: ["EMEA", "APAC"] },
        { name: "min_amount", type: "number", default: 0 },
      ],
    },
  }));
  const at = { path: { dashboard_id: dashboard.id } };
  const kpi = must(await api.POST("/dashboards/{dashboard_id}/cards", {
    params: at,
    body: {
      card_type: "kpi",
      config: {
        dataset_id: dataset.id,
        metric: { agg: "sum", column: "amount" },
        label: "Revenue",
        filters: [
          { column: "region", op: "in", value: { param: "region" } },
          { column: "amount", op: "gte", value: { param: "min_amount" } },
        ],
      },
    },
  }));

  const several: Values = { region: ["APAC", "AMER"] };
  const single: Values = { region: "EMEA", min_amount: 100 };
  const bySeveral = await api.POST("/dashboards/{dashboard_id}/render", { params: at, body: { parameters: several } });
  const bySingle = must(await api.POST("/dashboards/{dashboard_id}/render", {
    params: at, body: { page: 1, parameters: single },
  }));
  const byQuery = must(await api.GET("/dashboards/{dashboard_id}/render", {
    params: { ...at, query: { page: 1, param: { min_amount: "100" } } },
  }));
  const unchanged = await api.POST("/dashboards/{dashboard_id}/render", {
    params: { ...at, header: { "If-None-Match": bySeveral.response.headers.get("ETag") ?? "" } },
    body: { parameters: several },
  });

  const shared = must(await api.PATCH("/dashboards/{dashboard_id}", {
    params: at, body: { default_audience: "public" },
  }));
  const anonymous = createClient<paths>({ baseUrl: base });
  const publicRender = must(await anonymous.POST("/public/dashboards/{slug}/render", {
    params: { path: { slug: shared.public_slug ?? "" } },
    body: { parameters: { region: ["AMER", "APAC"], min_amount: 50 } },
  }));

  console.log(JSON.stringify({
    kpi: kpi.id,
    several: summary(must(bySeveral)),
    single: summary(bySingle),
    query_single: summary(byQuery),
    unchanged_status: unchanged.response.status,
    public: summary(publicRender),
  }));
}

// The types are real, not `any`: each line below must be a type error.
// @ts-expect-error a render value is a value or a list of values, not an object
export const objectValue: Values = { region: { name: "EMEA" } };
// @ts-expect-error the body's fields are `page` and `parameters`
export const unknownField: components["schemas"]["RenderRequest"] = { params: {} };

await main(process.argv[2], process.argv[3]);
