// Streams a generated answer into the ask page; without this script the page shows the
// extractive answer and a link to the generated one.
(function () {
  "use strict";
  const section = document.querySelector(".answer[data-stream='true']");
  if (!section || !window.fetch || !window.ReadableStream) return;
  const textBox = document.getElementById("answer-text");
  const note = document.getElementById("answer-note");
  const extractive = textBox.innerHTML;

  function showNote(message) {
    note.textContent = message;
    note.hidden = !message;
  }

  // Text with [n] marks as nodes: links for known sources, plain text for the rest.
  function renderCited(text, numbers) {
    const p = document.createElement("p");
    const pattern = /\[(\d{1,3})\]/g;
    let cursor = 0;
    let match;
    while ((match = pattern.exec(text)) !== null) {
      p.appendChild(document.createTextNode(text.slice(cursor, match.index)));
      const n = Number(match[1]);
      if (numbers.includes(n)) {
        const a = document.createElement("a");
        a.className = "cite";
        a.href = "#source-" + n;
        a.textContent = match[0];
        p.appendChild(a);
      } else {
        p.appendChild(document.createTextNode(match[0]));
      }
      cursor = match.index + match[0].length;
    }
    p.appendChild(document.createTextNode(text.slice(cursor)));
    textBox.replaceChildren(p);
  }

  function renderSources(citations) {
    const list = document.getElementById("source-list");
    list.replaceChildren();
    for (const c of citations) {
      const li = document.createElement("li");
      li.id = "source-" + c.number;
      const num = document.createElement("span");
      num.className = "num";
      num.textContent = "[" + c.number + "]";
      const a = document.createElement("a");
      a.href = c.url;
      a.textContent = c.hit.heading || c.hit.doc_id;
      const quote = document.createElement("blockquote");
      quote.textContent = c.hit.text;
      li.append(num, " ", a, quote);
      list.appendChild(li);
    }
  }

  function finish(answer) {
    if (answer.generated) {
      renderCited(answer.text, answer.citations.map((c) => c.number));
      renderSources(answer.citations);
    } else {
      textBox.innerHTML = extractive;
    }
    showNote(answer.note || "");
    section.setAttribute("aria-busy", "false");
  }

  function handle(event, data, state) {
    if (event === "token") {
      state.text += data.text;
      const p = document.createElement("p");
      p.textContent = state.text;
      textBox.replaceChildren(p);
    } else if (event === "done") {
      state.done = true;
      finish(data);
    }
  }

  async function stream() {
    section.setAttribute("aria-busy", "true");
    const state = { text: "", done: false };
    const response = await fetch("/api/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ question: section.dataset.question, generate: true, stream: true }),
    });
    if (!response.ok || !response.body) throw new Error("HTTP " + response.status);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = (block.match(/^event: (.*)$/m) || [])[1];
        const data = (block.match(/^data: (.*)$/m) || [])[1];
        if (event && data) handle(event, JSON.parse(data), state);
      }
    }
    if (!state.done) throw new Error("the stream ended early");
  }

  stream().catch(function (error) {
    textBox.innerHTML = extractive;
    showNote("The generated answer could not be shown (" + error.message + "); showing the extractive answer.");
    section.setAttribute("aria-busy", "false");
  });
})();
