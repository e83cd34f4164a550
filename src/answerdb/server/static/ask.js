// Streams a generated answer into the ask page; without this script the page shows the
// extractive answer and a link to the generated one.
(function () {
  "use strict";
  const section = document.querySelector(".answer[data-stream='true']");
  if (!section || !window.fetch || !window.ReadableStream) return;
  const textBox = document.getElementById("answer-text");
  const note = document.getElementById("answer-note");
  const status = document.getElementById("answer-status");
  const label = document.getElementById("answer-label");
  const extractive = textBox.innerHTML;

  function showNote(message) {
    note.textContent = message;
    note.hidden = !message;
  }

  function writing(busy) {
    section.setAttribute("aria-busy", busy ? "true" : "false");
    status.hidden = !busy;
  }

  // The server sends the passages and the answer as sanitised HTML (render.py).
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
      const where = document.createElement("span");
      where.className = "muted";
      where.textContent = "— passage " + (c.hit.ordinal + 1);
      const quote = document.createElement("blockquote");
      quote.className = "passage";
      quote.innerHTML = c.html;
      li.append(num, " ", a, " ", where, quote);
      list.appendChild(li);
    }
  }

  function finish(answer) {
    if (answer.generated) {
      textBox.innerHTML = answer.html;
      renderSources(answer.citations);
    } else {
      textBox.innerHTML = extractive;
    }
    label.hidden = !answer.generated;
    showNote(answer.note || "");
    writing(false);
  }

  // The text so far, shown as plain text until the checked answer arrives.
  function showPartial(text) {
    const p = document.createElement("p");
    p.className = "writing";
    p.textContent = text;
    textBox.replaceChildren(p);
  }

  function handle(event, data, state) {
    if (event === "token") {
      state.text += data.text;
      showPartial(state.text);
    } else if (event === "done") {
      state.done = true;
      finish(data);
    }
  }

  async function stream() {
    writing(true);
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
    label.hidden = true;
    showNote("The generated answer could not be shown (" + error.message + "); showing the extractive answer.");
    writing(false);
  });
})();
