// dm+d suggestions for medicine name inputs (progressive enhancement: without JavaScript the
// name is typed and sent as it is). An input with data-dmd-search gets a <datalist> of matching
// dm+d concepts from /api/terminology/search; choosing one fills the hidden dm+d code field named
// by data-dmd-code.
export function initDmdSearch(root = document) {
  for (const input of root.querySelectorAll("input[data-dmd-search]")) {
    const list = document.createElement("datalist");
    list.id = `${input.id}-dmd-list`;
    input.after(list);
    input.setAttribute("list", list.id);
    const code = root.querySelector(`input[name="${input.dataset.dmdCode}"]`);
    let timer;
    input.addEventListener("input", () => {
      if (code) {
        const chosen = [...list.options].find((o) => o.value === input.value);
        code.value = chosen ? chosen.dataset.code : "";
      }
      clearTimeout(timer);
      const q = input.value.trim();
      if (q.length < 3) return;
      timer = setTimeout(async () => {
        const r = await fetch(`/api/terminology/search?limit=10&q=${encodeURIComponent(q)}`, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        if (!r.ok) return;
        const found = await r.json();
        list.replaceChildren(
          ...found.results.map((c) => {
            const o = document.createElement("option");
            o.value = c.name;
            o.dataset.code = c.id;
            return o;
          }),
        );
      }, 250);
    });
  }
}
