"""Every sentence llmchat writes about a turn, once per language: notices, hints, the stats line.

A notice kind (:class:`llmchat.core.notices.Notice`) names one :class:`Entry`: a title and a
body, each a ``str.format`` template over the notice's values (``{count:,}`` formats a number).
Entries without a title are phrases: hints and reasons that other notices take as values.
``tests/test_i18n.py`` checks that every entry has both languages and the same fields in each.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    en: str
    ja: str


@dataclass(frozen=True)
class Entry:
    title: Text | None = None
    body: Text | None = None


_RETRY_JA = "再試行してください"
_SERVER_CMD = (
    "```\npython -m llama_cpp.server --model MODEL.gguf --chat_format llama-2 "
    "--n_gpu_layers 0 --port 8080\n```"
)
_CONTEXT_EN = "press Clear, switch to QA mode, or"
_CONTEXT_JA = "会話をクリアするか、QA モードに切り替えるか、"
_TOO_LONG = Text("⚠️ Conversation too long", "⚠️ 会話が長すぎます")
_BAD_REQUEST = Text(
    "⚠️ The server rejected the request (HTTP 400)", "⚠️ サーバーがリクエストを拒否しました（HTTP 400）"
)
_RATE_LIMITED = Text("⚠️ Too many requests (HTTP 429)", "⚠️ リクエストが多すぎます（HTTP 429）")

NOTICES: dict[str, Entry] = {
    # --- the server: llmchat.engine.errors -------------------------------------------------------
    "unreachable": Entry(
        Text("⚠️ Cannot reach the LLM server", "⚠️ LLM サーバーに接続できません"),
        Text(
            "Nothing answers at **{server}** ({detail}).\n\n{hint}",
            "**{server}** から応答がありません（{detail}）。\n\n{hint}",
        ),
    ),
    "hint_start_server": Entry(
        body=Text(
            f"Is the server running? The seed's set-up starts one with:\n\n{_SERVER_CMD}\n\n"
            "Or pick a preset whose server is up.",
            "サーバーは起動していますか？ "
            f"元のチュートリアルの構成では次のコマンドで起動します:\n\n{_SERVER_CMD}\n\n"
            "または、サーバーが動いているプリセットを選んでください。",
        )
    ),
    "hint_check_address": Entry(
        body=Text(
            "Check the address in the preset's `base_url` and this machine's network.",
            "プリセットの `base_url` のアドレスと、このマシンのネットワークを確認してください。",
        )
    ),
    "connection_failed": Entry(body=Text("connection failed", "接続に失敗")),
    "timeout": Entry(
        Text("⚠️ The server did not answer in time", "⚠️ サーバーが時間内に応答しませんでした"),
        Text(
            "**{server}** sent nothing for {seconds:g} s. It may be busy or loading a model; "
            "press Retry, or raise the preset's `timeout`.",
            "**{server}** から {seconds:g} 秒間何も届きませんでした。混雑しているか、モデルを読み込み中の"
            f"ようです。{_RETRY_JA}。続くようならプリセットの `timeout` を長くしてください。",
        ),
    ),
    "key_refused": Entry(
        Text(
            "⚠️ The server refused the API key (HTTP {status})",
            "⚠️ サーバーが API キーを拒否しました（HTTP {status}）",
        ),
        Text(
            "**{server}** said: {said}\n\nSet the key in the environment variable `OPENAI_API_KEY` "
            "or in the preset's `api_key`, then press Retry.",
            "**{server}** の応答: {said}\n\n環境変数 `OPENAI_API_KEY` かプリセットの `api_key` に"
            f"キーを設定してから、{_RETRY_JA}。",
        ),
    ),
    "not_found": Entry(
        Text("⚠️ Model or address not found (HTTP 404)", "⚠️ モデルまたはアドレスが見つかりません（HTTP 404）"),
        Text(
            "**{server}** does not know the model `{model}`: {said}\n\n{hint}",
            "**{server}** にモデル `{model}` がありません: {said}\n\n{hint}",
        ),
    ),
    "hint_models_offered": Entry(
        body=Text(
            "Models this server offers: {models}. Set one as the preset's `model`.",
            "このサーバーのモデル: {models}。**モデル** で選ぶか、プリセットの `model` に設定してください。",
        )
    ),
    "hint_check_model": Entry(
        body=Text(
            "Check the preset's `model`, and that `base_url` is right "
            "(most servers want it to end in `/v1`).",
            "プリセットの `model` と、`base_url` "
            "が正しいか（多くのサーバーでは末尾が `/v1`）を確認してください。",
        )
    ),
    "bad_request": Entry(_BAD_REQUEST, Text("{said}", "{said}")),
    "bad_request_context": Entry(
        _BAD_REQUEST,
        Text(
            "{said}\n\nThe conversation is probably longer than the model's context window, and the "
            "server does not say how large that is. Set `context_window:` in the preset to the model's "
            "context size (llama-server's `-c`, vLLM's `--max-model-len`): llmchat then leaves out older "
            f"turns before sending. For now, {_CONTEXT_EN} lower Max tokens.",
            "{said}\n\n会話がモデルのコンテキスト長を超えているようですが、サーバーはその長さを"
            "知らせていません。プリセットの `context_window:` にモデルのコンテキスト長（llama-server の "
            "`-c`、vLLM の `--max-model-len`）を設定すると、送る前に古いやり取りを省くようになります。"
            f"今は{_CONTEXT_JA}最大トークン数を下げてください。",
        ),
    ),
    "window_learned": Entry(
        Text("ℹ️ Sent again with older messages left out", "ℹ️ 古いメッセージを省いて送り直しました"),
        Text(
            "The server refused the request as longer than its context window of {window:,} tokens. "
            "llmchat now keeps to that size: it left out what no longer fits and sent your message "
            "again. Setting `context_window: {window}` in the preset saves that first refusal.",
            "サーバーは、コンテキスト長（{window:,} トークン）を超えるとしてリクエストを拒否しました。"
            "以後はこの長さに合わせます。収まらない分を省いて、メッセージを送り直しました。"
            "プリセットに `context_window: {window}` を設定すれば、最初の拒否も避けられます。",
        ),
    ),
    "images_refused": Entry(
        Text("⚠️ This model cannot read images", "⚠️ このモデルは画像を読めません"),
        Text(
            "The server refused the image: {said}\n\nPick a model that understands images (a vision "
            "model) under **Model**, or send your message without the image.",
            "サーバーが画像を受け付けませんでした: {said}\n\n**モデル** で画像を理解できるモデル"
            "（ビジョンモデル）を選ぶか、画像を外して送ってください。",
        ),
    ),
    "rate_limited": Entry(
        _RATE_LIMITED,
        Text(
            "**{server}** is busy or the quota is used up: {said}. Then press Retry.",
            f"**{{server}}** が混雑しているか、利用枠を使い切りました: {{said}}。少し待ってから{_RETRY_JA}。",
        ),
    ),
    "rate_limited_wait": Entry(
        _RATE_LIMITED,
        Text(
            "**{server}** is busy or the quota is used up: {said}. It asks to wait {seconds} s. "
            "Then press Retry.",
            "**{server}** が混雑しているか、利用枠を使い切りました: {said}。"
            f"{{seconds}} 秒待つよう求めています。その後で{_RETRY_JA}。",
        ),
    ),
    "server_failed": Entry(
        Text("⚠️ The server failed (HTTP {status})", "⚠️ サーバー内部でエラーが起きました（HTTP {status}）"),
        Text(
            "**{server}** had an internal error: {said}\n\nPress Retry; if it keeps failing, "
            "look at the server's log.",
            f"**{{server}}** で内部エラーが起きました: {{said}}\n\n{_RETRY_JA}。"
            "何度も失敗するならサーバーのログを確認してください。",
        ),
    ),
    "http_status": Entry(
        Text("⚠️ The server answered HTTP {status}", "⚠️ サーバーが HTTP {status} を返しました"),
        Text("{said}", "{said}"),
    ),
    "api_error": Entry(
        Text("⚠️ The server reported an error", "⚠️ サーバーがエラーを報告しました"), Text("{said}", "{said}")
    ),
    "unexpected": Entry(
        Text("⚠️ Something went wrong", "⚠️ 問題が発生しました"), Text("{error}: {said}", "{error}: {said}")
    ),
    "not_openai": Entry(
        Text("⚠️ Unexpected reply from the server", "⚠️ サーバーから想定外の応答がありました"),
        Text(
            "**{server}** answered, but not with an OpenAI-style streamed answer. Is it an "
            "OpenAI-compatible endpoint? Most want a `base_url` ending in `/v1`.",
            "**{server}** は応答しましたが、OpenAI 形式のストリーミング応答ではありませんでした。"
            "OpenAI 互換のエンドポイントですか？ 多くは `base_url` の末尾が `/v1` です。",
        ),
    ),
    "images_unanswered": Entry(
        Text("⚠️ This model may not read images", "⚠️ このモデルは画像を読めないようです"),
        Text(
            "The server sent nothing back for a message with an image: the model probably reads text "
            "only. Pick a model that understands images (a vision model) under **Model**, or send your "
            "message without the image.",
            "画像つきのメッセージに対してサーバーから何も返ってきませんでした。このモデルはテキストしか"
            "読めないようです。**モデル** で画像を理解できるモデル（ビジョンモデル）を選ぶか、画像なしで"
            "送ってください。",
        ),
    ),
    "empty_stream": Entry(
        Text("⚠️ The server sent no answer", "⚠️ サーバーから回答が届きませんでした"),
        Text(
            "**{server}** accepted the request but sent no text and no end mark. With "
            "llama-cpp-python this happens when the conversation is longer than the model's context "
            f"window: {_CONTEXT_EN} set the preset's `context_window`. Otherwise "
            "check that `base_url` is an OpenAI-compatible endpoint (most end in `/v1`).",
            "**{server}** はリクエストを受け付けましたが、テキストも終了の合図も送ってきませんでした。"
            "llama-cpp-python では会話がモデルのコンテキスト長を超えるとこうなります。"
            f"{_CONTEXT_JA}プリセットの `context_window` を設定してください。そうでなければ "
            "`base_url` が OpenAI 互換のエンドポイントか（多くは末尾が `/v1`）確認してください。",
        ),
    ),
    "cut_off": Entry(
        Text("✂️ The answer was cut off", "✂️ 回答が途中で切れました"),
        Text(
            "{why} What arrived ({chunks} chunks) is kept above. Press Retry to ask again.",
            f"{{why}} 届いた分（{{chunks}} チャンク）は上に残してあります。もう一度聞くには{_RETRY_JA}。",
        ),
    ),
    "interrupted": Entry(
        Text("✂️ The answer was cut off", "✂️ 回答が途中で切れました"),
        Text(
            "The page was reloaded or closed while this answer streamed; what had arrived is kept "
            "above. Press Retry to ask again.",
            f"回答の受信中にページが再読み込みされたか閉じられました。届いた分は上に残してあります。"
            f"もう一度聞くには{_RETRY_JA}。",
        ),
    ),
    "why_no_finish": Entry(
        body=Text(
            "The server ended the answer without saying it was complete. It may have been interrupted by "
            "another request (llama-cpp-python does this by default) or run out of context.",
            "サーバーは完了の合図なしに回答を終えました。別のリクエストに割り込まれた（llama-cpp-python の"
            "既定の動作）か、コンテキストが尽きたのかもしれません。",
        )
    ),
    "why_error_mid_answer": Entry(
        body=Text(
            "The server reported an error mid-answer: {said}",
            "回答の途中でサーバーがエラーを報告しました: {said}",
        )
    ),
    "why_connection_broke": Entry(
        body=Text(
            "The connection to the server broke ({error}).", "サーバーとの接続が切れました（{error}）。"
        )
    ),
    "why_line_too_long": Entry(
        body=Text(
            "The server sent an event line over {limit:,} bytes; llmchat stopped reading there.",
            "サーバーが {limit:,} バイトを超える 1 行を送ってきたため、"
            "llmchat はそこで読み込みを止めました。",
        )
    ),
    "why_answer_too_long": Entry(
        body=Text(
            "The answer reached {limit:,} characters, the most llmchat reads; the rest was not read.",
            "回答が llmchat の読み込む上限の {limit:,} 文字に達したため、残りは読み込みませんでした。",
        )
    ),
    "why_reply_too_large": Entry(
        body=Text(
            "The server's reply passed {limit:,} bytes, the most llmchat reads; the rest was not read.",
            "サーバーの応答が llmchat の読み込む上限の {limit:,} バイトを超えたため、"
            "残りは読み込みませんでした。",
        )
    ),
    # --- the turn: llmchat.engine.service ----------------------------------------------------------
    "invalid_settings": Entry(
        Text("⚠️ Invalid settings", "⚠️ 設定の値が正しくありません"), Text("{detail}", "{detail}")
    ),
    "empty_message": Entry(
        Text("⚠️ Empty message", "⚠️ メッセージが空です"),
        Text("Type a question first.", "先に質問を入力してください。"),
    ),
    "message_too_long": Entry(
        Text("⚠️ Message too long", "⚠️ メッセージが長すぎます"),
        Text(
            "Your message has {count:,} characters; this app accepts at most {limit:,} "
            "(its --max-message-chars).",
            "メッセージは {count:,} 文字あります。このアプリが受け付けるのは {limit:,} 文字までです"
            "（--max-message-chars）。",
        ),
    ),
    "conversation_too_long": Entry(
        _TOO_LONG,
        Text(
            "This conversation has {count:,} messages; the limit is {limit:,}. "
            "Press Clear chat to start a new one.",
            "この会話には {count:,} 件のメッセージがあり、上限は {limit:,} 件です。"
            "「会話をクリア」で新しい会話を始めてください。",
        ),
    ),
    "conversation_too_long_chars": Entry(
        _TOO_LONG,
        Text(
            "This conversation has {count:,} characters; the limit is {limit:,}. "
            "Press Clear chat to start a new one.",
            "この会話は {count:,} 文字あり、上限は {limit:,} 文字です。"
            "「会話をクリア」で新しい会話を始めてください。",
        ),
    ),
    "starting_local": Entry(
        Text("⏳ Starting the local model…", "⏳ ローカルモデルを起動しています…"),
        Text("The first answer takes a few seconds.", "最初の回答には数秒かかります。"),
    ),
    "too_long_for_model": Entry(
        Text("⚠️ Message too long for the model", "⚠️ メッセージがモデルには長すぎます"),
        Text(
            "Your message is about {tokens:,} tokens; with the system prompt and Max tokens ({max_tokens:,}) "
            "the request needs {needed:,} tokens, but the model's context window is {window:,}. Shorten the "
            "message or lower Max tokens.",
            "メッセージは約 {tokens:,} トークンです。システムプロンプトと最大トークン数（{max_tokens:,}）を"
            "合わせると {needed:,} トークン必要ですが、モデルのコンテキスト長は {window:,} です。"
            "メッセージを短くするか、最大トークン数を下げてください。",
        ),
    ),
    "waiting": Entry(
        Text("⏳ Waiting for the server", "⏳ サーバーの順番待ちです"),
        Text(
            "Another answer is being generated; yours is next.", "別の回答を生成中です。次があなたの番です。"
        ),
    ),
    "fair_waiting": Entry(
        Text("⏳ Waiting for a free slot", "⏳ 空きを待っています"),
        Text(
            "This app streams at most {limit} answers at once for {who}; yours starts as soon as "
            "one of them ends.",
            "このアプリが同時に生成する回答は {who}あたり {limit} 件までです。"
            "どれかが終わりしだい、この回答を始めます。",
        ),
    ),
    "fair_refused": Entry(
        Text("⚠️ Too many answers at once", "⚠️ 同時に頼んだ回答が多すぎます"),
        Text(
            "This app streams at most {limit} answers at once for {who} and keeps at most {waiting} "
            "more waiting, so this message was not sent to the model. Wait for an answer to end, "
            "then press Retry.",
            "このアプリが同時に生成する回答は {who}あたり {limit} 件まで、順番待ちもあと {waiting} "
            "件までのため、このメッセージはモデルに送っていません。"
            f"回答が終わるのを待ってから{_RETRY_JA}。",
        ),
    ),
    "who_visitor": Entry(body=Text("one visitor", "1 人")),
    "who_address": Entry(body=Text("one network address", "1 つのネットワークアドレス")),
    "history_trimmed": Entry(
        Text("ℹ️ {count} earlier messages were not sent", "ℹ️ 以前のメッセージ {count} 件は送りませんでした"),
        Text(
            "They no longer fit in the model's context window ({window:,} tokens) together with your "
            "message and Max tokens. The model sees the last {kept} messages.",
            "メッセージと最大トークン数を合わせると、モデルのコンテキスト長（{window:,} トークン）に"
            "収まらないためです。モデルに見えるのは直近の {kept} 件です。",
        ),
    ),
    "gauge_no_window": Entry(  # a phrase: the gauge's tooltip when it is hidden
        body=Text(
            "The server does not say how many tokens the model can see, so llmchat cannot show how full "
            "the conversation is. Set `context_window:` in the preset to the model's context size.",
            "サーバーがモデルのコンテキスト長を知らせないため、会話がどれだけ埋まっているかを表示"
            "できません。プリセットの `context_window:` にモデルのコンテキスト長を設定してください。",
        ),
    ),
    "history_summarized": Entry(
        Text(
            "ℹ️ {count} earlier messages were summarized", "ℹ️ 以前のメッセージ {count} 件を要約して送りました"
        ),
        Text(
            "They no longer fit in the model's context window ({window:,} tokens) together with your "
            "message and Max tokens. The model sees a summary of them instead, and the last {kept} "
            "messages.",
            "メッセージと最大トークン数を合わせると、モデルのコンテキスト長（{window:,} トークン）に"
            "収まらないためです。モデルには、それらの要約と直近の {kept} 件が見えています。",
        ),
    ),
    "summarizing": Entry(
        Text("⏳ Summarizing earlier messages…", "⏳ 以前のメッセージを要約しています…"),
        Text(
            "{count} earlier messages no longer fit in the model's context window; the model is "
            "writing a summary of them to send in their place.",
            "以前のメッセージ {count} 件がコンテキスト長に収まらないため、代わりに送る要約をモデルが"
            "書いています。",
        ),
    ),
    "summary_failed": Entry(
        Text("⚠️ No summary of the earlier messages", "⚠️ 以前のメッセージを要約できませんでした"),
        Text(
            "The server did not write the summary ({detail}), so those messages were left out without one.",
            "サーバーが要約を書かなかったため（{detail}）、それらのメッセージは要約なしで省きました。",
        ),
    ),
    "summary_partial": Entry(
        Text(
            "ℹ️ {count} of the oldest messages are not in the summary",
            "ℹ️ 最も古いメッセージ {count} 件は要約に入っていません",
        ),
        Text(
            "A summary is made one part at a time, a few parts a turn; the oldest part of this long "
            "conversation was left out without one.",
            "要約は 1 回に数か所ずつ作ります。この長い会話の最も古い部分は、要約せずに省きました。",
        ),
    ),
    "max_tokens_reached": Entry(
        Text("ℹ️ Reached the Max tokens limit", "ℹ️ 最大トークン数に達しました"),
        Text(
            "The answer stopped at {count} tokens. Raise **Max tokens** under Parameters and press Retry "
            "for a longer one.",
            "回答は {count} トークンで止まりました。続きが必要なら、パラメーターの **最大トークン数** を"
            f"上げて{_RETRY_JA}。",
        ),
    ),
    "empty_answer": Entry(
        Text("ℹ️ Empty answer", "ℹ️ 回答が空でした"),
        Text(
            "The server finished without sending any text.", "サーバーはテキストを何も送らずに終了しました。"
        ),
    ),
    "thinking": Entry(Text("💭 Thinking", "💭 思考")),
    "model_not_offered": Entry(
        Text("⚠️ Model not available", "⚠️ このモデルは使えません"),
        Text(
            "`{model}` is not one of the models this server offers. Pick one under **Model** "
            "(🔄 reloads the list).",
            "`{model}` はこのサーバーが提供するモデルではありません。**モデル** から選んでください"
            "（🔄 で一覧を更新できます）。",
        ),
    ),
    # --- the local model: llmchat.engine.servers ---------------------------------------------------
    "local_failed": Entry(
        Text("⚠️ The local model could not start", "⚠️ ローカルモデルを起動できませんでした"),
        Text("{detail}", "{detail}"),
    ),
    "local_stopped": Entry(
        Text("⚠️ The local model stopped", "⚠️ ローカルモデルが停止しました"),
        Text(
            "The llama.cpp server running the local model exited. The last lines of its log:\n\n"
            "```\n{log}\n```\n\nSend a message again to restart it.",
            "ローカルモデルを動かしていた llama.cpp サーバーが終了しました。ログの最後の行:\n\n"
            "```\n{log}\n```\n\nもう一度メッセージを送ると再起動します。",
        ),
    ),
    # --- attachments: llmchat.core.attachments -----------------------------------------------------
    "file_too_large": Entry(
        Text("⚠️ File too large", "⚠️ ファイルが大きすぎます"),
        Text(
            "`{name}` has {size} kB; attached {kind} may be at most {limit} kB each. Attach a smaller one.",
            "`{name}` は {size} kB あります。添付できる{kind}は 1 つ {limit} kB までです。"
            "小さくして添付してください。",
        ),
    ),
    "kind_text_files": Entry(body=Text("text files", "テキストファイル")),
    "kind_images": Entry(body=Text("images", "画像")),
    "not_text": Entry(
        Text("⚠️ Not a text file", "⚠️ テキストファイルではありません"),
        Text(
            "`{name}` is not UTF-8 text (byte {position:,} is invalid). Attach text files saved as UTF-8, "
            "or images (PNG, JPEG, WebP, GIF).",
            "`{name}` は UTF-8 のテキストではありません（{position:,} バイト目が不正）。UTF-8 で保存した"
            "テキストファイルか、画像（PNG、JPEG、WebP、GIF）を添付してください。",
        ),
    ),
    "not_image": Entry(
        Text("⚠️ Not a valid image", "⚠️ 画像として読めません"),
        Text(
            "`{name}` is named like an image but its content is not PNG, JPEG, WebP or GIF.",
            "`{name}` は画像の名前ですが、中身が PNG・JPEG・WebP・GIF のどれでもありません。",
        ),
    ),
    "too_many_files": Entry(
        Text("⚠️ Too many files", "⚠️ ファイルが多すぎます"),
        Text(
            "You attached {count} files; one message can carry at most {limit}.",
            "{count} 個のファイルが添付されています。1 つのメッセージで送れるのは {limit} 個までです。",
        ),
    ),
    "attachments_too_large": Entry(
        Text("⚠️ Too many attachments in one request", "⚠️ 1 回のリクエストの添付ファイルが多すぎます"),
        Text(
            "This message and the earlier messages sent with it refer to more than {limit} MB of "
            "files (at least {total} MB; a file counts each time it is sent). Send fewer files, "
            "or start a new conversation.",
            "このメッセージと一緒に送るこれまでのメッセージの添付ファイルが {limit} MB を超えています"
            "（{total} MB 以上。同じファイルも送るたびに数えます）。ファイルを減らすか、"
            "新しい会話を始めてください。",
        ),
    ),
    "file_unreadable": Entry(
        Text("⚠️ Attachment not found", "⚠️ 添付ファイルが見つかりません"),
        Text(
            "`{name}` could not be read. Attach it again.",
            "`{name}` を読み込めませんでした。もう一度添付してください。",
        ),
    ),
}

# The stats line under an answer: parts joined with " · "; "~" marks a figure llmchat estimated.
STATS: dict[str, Text] = {
    "first_token": Text("⏱ {seconds:.2f} s to first token", "⏱ 最初のトークンまで {seconds:.2f} 秒"),
    "rate": Text("{mark}{rate:.1f} tokens/s", "{mark}{rate:.1f} トークン/秒"),
    "tokens": Text(
        "{prompt_mark}{prompt} prompt + {mark}{completion} completion tokens",
        "プロンプト {prompt_mark}{prompt} + 生成 {mark}{completion} トークン",
    ),
    "completion": Text("{mark}{completion} completion tokens", "生成 {mark}{completion} トークン"),
}
