"""The English and Japanese notices: errors, hints, stats (:mod:`llmchat.web.i18n` uses them).

Notice templates repeat, word for word, the English that :mod:`llmchat.engine.errors`,
:mod:`llmchat.engine.chat`, :mod:`llmchat.engine.servers`, :mod:`llmchat.engine.budget` and
llmchat's own modules produce; ``{name}`` stands for a value. ``tests/test_ui_i18n.py`` builds
every notice from those modules and checks that each one is translated, so a changed English
sentence fails a test instead of silently staying English.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmchat.i18n.labels import LABELS

__all__ = ["FRAGMENTS", "LABELS", "NOTICES", "STATS_PARTS", "NoticeTemplate", "Template"]


@dataclass(frozen=True)
class Template:
    en: str
    ja: str


@dataclass(frozen=True)
class NoticeTemplate:
    """One kind of notice: its title, and its body's known wordings (most specific first)."""

    key: str
    title: Template
    bodies: tuple[Template, ...] = ()


_RETRY_JA = "再試行してください"
_SERVER_HINT_CMD = (
    "```\npython -m llama_cpp.server --model MODEL.gguf --chat_format llama-2 "
    "--n_gpu_layers 0 --port 8080\n```"
)
_CONTEXT_EN = "press Clear, switch to QA mode, or"
_CONTEXT_JA = "会話をクリアするか、QA モードに切り替えるか、"

NOTICES: tuple[NoticeTemplate, ...] = (
    # --- llmchat.engine.errors ---------------------------------------------------------------------
    NoticeTemplate(
        "unreachable",
        Template("⚠️ Cannot reach the LLM server", "⚠️ LLM サーバーに接続できません"),
        (
            Template(
                "Nothing answers at **{base_url}** ({detail}).\n\n{hint}",
                "**{base_url}** から応答がありません（{detail}）。\n\n{hint}",
            ),
        ),
    ),
    NoticeTemplate(
        "timeout",
        Template("⚠️ The server did not answer in time", "⚠️ サーバーが時間内に応答しませんでした"),
        (
            Template(
                "**{base_url}** sent nothing for {seconds} s. It may be busy or loading a model; "
                "press Retry, or raise the preset's `timeout`.",
                "**{base_url}** から {seconds} 秒間何も届きませんでした。混雑しているか、モデルを読み込み中の"
                f"ようです。{_RETRY_JA}。続くようならプリセットの `timeout` を長くしてください。",
            ),
        ),
    ),
    NoticeTemplate(
        "key_refused",
        Template(
            "⚠️ The server refused the API key (HTTP {status})",
            "⚠️ サーバーが API キーを拒否しました（HTTP {status}）",
        ),
        (
            Template(
                "**{base_url}** said: {said}\n\nSet the key in the environment variable `OPENAI_API_KEY` "
                "or in the preset's `api_key`, then press Retry.",
                "**{base_url}** の応答: {said}\n\n環境変数 `OPENAI_API_KEY` かプリセットの `api_key` に"
                f"キーを設定してから、{_RETRY_JA}。",
            ),
        ),
    ),
    NoticeTemplate(
        "not_found",
        Template(
            "⚠️ Model or address not found (HTTP 404)", "⚠️ モデルまたはアドレスが見つかりません（HTTP 404）"
        ),
        (
            Template(
                "**{base_url}** does not know the model `{model}`: {said}\n\n{hint}",
                "**{base_url}** にモデル `{model}` がありません: {said}\n\n{hint}",
            ),
        ),
    ),
    NoticeTemplate(
        "bad_request",
        Template(
            "⚠️ The server rejected the request (HTTP 400)", "⚠️ サーバーがリクエストを拒否しました（HTTP 400）"
        ),
        (
            Template(
                "{said}\n\nThe conversation is probably longer than the model's context window: "
                f"{_CONTEXT_EN} lower Max tokens.",
                f"{{said}}\n\n会話がモデルのコンテキスト長を超えているようです。{_CONTEXT_JA}"
                "最大トークン数を下げてください。",
            ),
        ),
    ),
    NoticeTemplate(
        "rate_limited",
        Template("⚠️ Too many requests (HTTP 429)", "⚠️ リクエストが多すぎます（HTTP 429）"),
        (
            Template(
                "**{base_url}** is busy or the quota is used up: {said}. It asks to wait {seconds} s. "
                "Then press Retry.",
                "**{base_url}** が混雑しているか、利用枠を使い切りました: {said}。"
                f"{{seconds}} 秒待つよう求めています。その後で{_RETRY_JA}。",
            ),
            Template(
                "**{base_url}** is busy or the quota is used up: {said}. Then press Retry.",
                f"**{{base_url}}** が混雑しているか、利用枠を使い切りました: "
                f"{{said}}。少し待ってから{_RETRY_JA}。",
            ),
        ),
    ),
    NoticeTemplate(
        "server_failed",
        Template(
            "⚠️ The server failed (HTTP {status})", "⚠️ サーバー内部でエラーが起きました（HTTP {status}）"
        ),
        (
            Template(
                "**{base_url}** had an internal error: {said}\n\nPress Retry; if it keeps failing, "
                "look at the server's log.",
                f"**{{base_url}}** で内部エラーが起きました: {{said}}\n\n{_RETRY_JA}。"
                "何度も失敗するならサーバーのログを確認してください。",
            ),
        ),
    ),
    NoticeTemplate(
        "http_status",
        Template("⚠️ The server answered HTTP {status}", "⚠️ サーバーが HTTP {status} を返しました"),
    ),
    NoticeTemplate(
        "api_error", Template("⚠️ The server reported an error", "⚠️ サーバーがエラーを報告しました")
    ),
    NoticeTemplate("unexpected", Template("⚠️ Something went wrong", "⚠️ 問題が発生しました")),
    NoticeTemplate(
        "not_openai",
        Template("⚠️ Unexpected reply from the server", "⚠️ サーバーから想定外の応答がありました"),
        (
            Template(
                "**{base_url}** answered, but not with an OpenAI-style streamed answer. Is it an "
                "OpenAI-compatible endpoint? Most want a `base_url` ending in `/v1`.",
                "**{base_url}** は応答しましたが、OpenAI 形式のストリーミング応答ではありませんでした。"
                "OpenAI 互換のエンドポイントですか？ 多くは `base_url` の末尾が `/v1` です。",
            ),
        ),
    ),
    NoticeTemplate(
        "empty_stream",
        Template("⚠️ The server sent no answer", "⚠️ サーバーから回答が届きませんでした"),
        (
            Template(
                "**{base_url}** accepted the request but sent no text and no end mark. With "
                "llama-cpp-python this happens when the conversation is longer than the model's context "
                f"window: {_CONTEXT_EN} set the preset's `context_window`. Otherwise "
                "check that `base_url` is an OpenAI-compatible endpoint (most end in `/v1`).",
                "**{base_url}** はリクエストを受け付けましたが、テキストも終了の合図も送ってきませんでした。"
                "llama-cpp-python では会話がモデルのコンテキスト長を超えるとこうなります。"
                f"{_CONTEXT_JA}プリセットの `context_window` を設定してください。そうでなければ "
                "`base_url` が OpenAI 互換のエンドポイントか（多くは末尾が `/v1`）確認してください。",
            ),
        ),
    ),
    NoticeTemplate(
        "cut_off",
        Template("✂️ The answer was cut off", "✂️ 回答が途中で切れました"),
        (
            Template(
                "{why} What arrived ({chunks} chunks) is kept above. Press Retry to ask again.",
                f"{{why}} 届いた分（{{chunks}} チャンク）は上に残してあります。もう一度聞くには{_RETRY_JA}。",
            ),
        ),
    ),
    # --- llmchat.engine.chat, llmchat.engine.budget, llmchat.engine.servers ------------------
    NoticeTemplate("invalid_settings", Template("⚠️ Invalid settings", "⚠️ 設定の値が正しくありません")),
    NoticeTemplate(
        "empty_message",
        Template("⚠️ Empty message", "⚠️ メッセージが空です"),
        (Template("Type a question first.", "先に質問を入力してください。"),),
    ),
    NoticeTemplate(
        "message_too_long",
        Template("⚠️ Message too long", "⚠️ メッセージが長すぎます"),
        (
            Template(
                "Your message has {count} characters; this app "
                "accepts at most {limit} (its --max-message-chars).",
                "メッセージは {count} 文字あります。このアプリが受け付けるのは "
                "{limit} 文字までです（--max-message-chars）。",
            ),
        ),
    ),
    NoticeTemplate(
        "conversation_too_long",
        Template("⚠️ Conversation too long", "⚠️ 会話が長すぎます"),
        (
            Template(
                "This conversation has {count} messages; the limit "
                "is {limit}. Press Clear chat to start a new one.",
                "この会話には {count} 件のメッセージがあり、上限は "
                "{limit} 件です。「会話をクリア」で新しい会話を始めてください。",
            ),
            Template(
                "This conversation has {count} characters; the limit "
                "is {limit}. Press Clear chat to start a new one.",
                "この会話は {count} 文字あり、上限は "
                "{limit} 文字です。「会話をクリア」で新しい会話を始めてください。",
            ),
        ),
    ),
    NoticeTemplate(
        "starting_local",
        Template("⏳ Starting the local model…", "⏳ ローカルモデルを起動しています…"),
        (Template("The first answer takes a few seconds.", "最初の回答には数秒かかります。"),),
    ),
    NoticeTemplate(
        "too_long_for_model",
        Template("⚠️ Message too long for the model", "⚠️ メッセージがモデルには長すぎます"),
        (
            Template(
                "Your message is about {tokens} tokens; with the system prompt and Max tokens ({max_tokens}) "
                "the request needs {needed} tokens, but the model's context window is {window}. Shorten the "
                "message or lower Max tokens.",
                "メッセージは約 {tokens} トークンです。"
                "システムプロンプトと最大トークン数（{max_tokens}）を合わせると "
                "{needed} トークン必要ですが、モデルのコンテキスト長は "
                "{window} です。メッセージを短くするか、"
                "最大トークン数を下げてください。",
            ),
        ),
    ),
    NoticeTemplate(
        "waiting",
        Template("⏳ Waiting for the server", "⏳ サーバーの順番待ちです"),
        (
            Template(
                "Another answer is being generated; yours is next.",
                "別の回答を生成中です。次があなたの番です。",
            ),
        ),
    ),
    # --- llmchat.engine.fairness: answers at once per visitor / address ----------------------------
    NoticeTemplate(
        "fair_waiting",
        Template("⏳ Waiting for a free slot", "⏳ 空きを待っています"),
        (
            Template(
                "This app streams at most {limit} answers at once for {who}; yours starts as soon as "
                "one of them ends.",
                "このアプリが同時に生成する回答は {who}あたり {limit} 件までです。"
                "どれかが終わりしだい、この回答を始めます。",
            ),
        ),
    ),
    NoticeTemplate(
        "fair_refused",
        Template("⚠️ Too many answers at once", "⚠️ 同時に頼んだ回答が多すぎます"),
        (
            Template(
                "This app streams at most {limit} answers at once for {who} and keeps at most {waiting} "
                "more waiting, so this message was not sent to the model. Wait for an answer to end, "
                "then press Retry.",
                "このアプリが同時に生成する回答は {who}あたり {limit} 件まで、順番待ちもあと {waiting} "
                "件までのため、このメッセージはモデルに送っていません。"
                f"回答が終わるのを待ってから{_RETRY_JA}。",
            ),
        ),
    ),
    NoticeTemplate(
        "history_trimmed",
        Template(
            "ℹ️ {count} earlier messages were not sent", "ℹ️ 以前のメッセージ {count} 件は送りませんでした"
        ),
        (
            Template(
                "They no longer fit in the model's context window "
                "({window} tokens) together with your message "
                "and Max tokens. The model sees the last {kept} messages.",
                "メッセージと最大トークン数を合わせると、"
                "モデルのコンテキスト長（{window} トークン）に収まらないためです。"
                "モデルに見えるのは直近の {kept} 件です。",
            ),
        ),
    ),
    NoticeTemplate(
        "max_tokens_reached",
        Template("ℹ️ Reached the Max tokens limit", "ℹ️ 最大トークン数に達しました"),
        (
            Template(
                "The answer stopped at {count} tokens. Raise **Max tokens** under Parameters and press Retry "
                "for a longer one.",
                "回答は {count} トークンで止まりました。続きが必要なら、パラメーターの **最大トークン数** を"
                f"上げて{_RETRY_JA}。",
            ),
        ),
    ),
    NoticeTemplate(
        "empty_answer",
        Template("ℹ️ Empty answer", "ℹ️ 回答が空でした"),
        (
            Template(
                "The server finished without sending any text.",
                "サーバーはテキストを何も送らずに終了しました。",
            ),
        ),
    ),
    NoticeTemplate("thinking", Template("💭 Thinking", "💭 思考")),
    NoticeTemplate(
        "local_failed",
        Template("⚠️ The local model could not start", "⚠️ ローカルモデルを起動できませんでした"),
    ),
    NoticeTemplate(
        "local_stopped",
        Template("⚠️ The local model stopped", "⚠️ ローカルモデルが停止しました"),
        (
            Template(
                "The llama.cpp server running the local model exited. The last lines of its log:\n\n"
                "```\n{log}\n```\n\nSend a message again to restart it.",
                "ローカルモデルを動かしていた llama.cpp サーバーが終了しました。ログの最後の行:\n\n"
                "```\n{log}\n```\n\nもう一度メッセージを送ると再起動します。",
            ),
        ),
    ),
    # --- llmchat's attachments and model picker ----------------------------------------------
    NoticeTemplate(
        "file_too_large",
        Template("⚠️ File too large", "⚠️ ファイルが大きすぎます"),
        (
            Template(
                "`{name}` has {size} kB; attached {kind} may be "
                "at most {limit} kB each. Attach a smaller one.",
                "`{name}` は {size} kB あります。添付できる{kind}は "
                "1 つ {limit} kB までです。小さくして添付してください。",
            ),
        ),
    ),
    NoticeTemplate(
        "not_text",
        Template("⚠️ Not a text file", "⚠️ テキストファイルではありません"),
        (
            Template(
                "`{name}` is not UTF-8 text (byte {position} is invalid). Attach text files saved as UTF-8, "
                "or images (PNG, JPEG, WebP, GIF).",
                "`{name}` は UTF-8 のテキストではありません（{position} バイト目が不正）。UTF-8 で保存した"
                "テキストファイルか、画像（PNG、JPEG、WebP、GIF）を添付してください。",
            ),
        ),
    ),
    NoticeTemplate(
        "not_image",
        Template("⚠️ Not a valid image", "⚠️ 画像として読めません"),
        (
            Template(
                "`{name}` is named like an image but its content is not PNG, JPEG, WebP or GIF.",
                "`{name}` は画像の名前ですが、中身が PNG・JPEG・WebP・GIF のどれでもありません。",
            ),
        ),
    ),
    NoticeTemplate(
        "too_many_files",
        Template("⚠️ Too many files", "⚠️ ファイルが多すぎます"),
        (
            Template(
                "You attached {count} files; one message can carry at most {limit}.",
                "{count} 個のファイルが添付されています。1 つのメッセージで送れるのは {limit} 個までです。",
            ),
        ),
    ),
    NoticeTemplate(
        "attachments_too_large",
        Template("⚠️ Too many attachments in one request", "⚠️ 1 回のリクエストの添付ファイルが多すぎます"),
        (
            Template(
                "This message and the earlier messages sent with it refer to more than {limit} MB of "
                "files (at least {total} MB; a file counts each time it is sent). Send fewer files, "
                "or start a new conversation.",
                "このメッセージと一緒に送るこれまでのメッセージの添付ファイルが {limit} MB を超えています"
                "（{total} MB 以上。同じファイルも送るたびに数えます）。ファイルを減らすか、"
                "新しい会話を始めてください。",
            ),
        ),
    ),
    NoticeTemplate(
        "file_unreadable",
        Template("⚠️ Attachment not found", "⚠️ 添付ファイルが見つかりません"),
        (
            Template(
                "`{name}` could not be read. Attach it again.",
                "`{name}` を読み込めませんでした。もう一度添付してください。",
            ),
        ),
    ),
    NoticeTemplate(
        "images_refused",
        Template("⚠️ This model cannot read images", "⚠️ このモデルは画像を読めません"),
        (
            Template(
                "The server refused the image: {said}\n\nPick a model that understands images (a vision "
                "model) under **Model**, or send your message without the image.",
                "サーバーが画像を受け付けませんでした: {said}\n\n**モデル** で画像を理解できるモデル"
                "（ビジョンモデル）を選ぶか、画像を外して送ってください。",
            ),
        ),
    ),
    NoticeTemplate(
        "model_not_offered",
        Template("⚠️ Model not available", "⚠️ このモデルは使えません"),
        (
            Template(
                "`{model}` is not one of the models this server offers. Pick one under **Model** "
                "(🔄 reloads the list).",
                "`{model}` はこのサーバーが提供するモデルではありません。**モデル** から選んでください"
                "（🔄 で一覧を更新できます）。",
            ),
        ),
    ),
)

# Parts of notice bodies that vary (hints, reasons): translated wherever they appear as a value.
FRAGMENTS: tuple[Template, ...] = (
    Template(
        "Is the server running? The seed's set-up starts one with:\n\n"
        f"{_SERVER_HINT_CMD}\n\nOr pick a preset whose server is up.",
        "サーバーは起動していますか？ "
        f"元のチュートリアルの構成では次のコマンドで起動します:\n\n{_SERVER_HINT_CMD}\n\n"
        "または、サーバーが動いているプリセットを選んでください。",
    ),
    Template(
        "Check the address in the preset's `base_url` and this machine's network.",
        "プリセットの `base_url` のアドレスと、このマシンのネットワークを確認してください。",
    ),
    Template(
        "Models this server offers: {models}. Set one as the preset's `model`.",
        "このサーバーのモデル: {models}。**モデル** で選ぶか、プリセットの `model` に設定してください。",
    ),
    Template(
        "Check the preset's `model`, and that `base_url` is right (most servers want it to end in `/v1`).",
        "プリセットの `model` と、`base_url` "
        "が正しいか（多くのサーバーでは末尾が `/v1`）を確認してください。",
    ),
    Template(
        "The server ended the answer without saying it was complete. It may have been interrupted by "
        "another request (llama-cpp-python does this by default) or run out of context.",
        "サーバーは完了の合図なしに回答を終えました。別のリクエストに割り込まれた（llama-cpp-python の"
        "既定の動作）か、コンテキストが尽きたのかもしれません。",
    ),
    Template(
        "The server reported an error mid-answer: {said}",
        "回答の途中でサーバーがエラーを報告しました: {said}",
    ),
    Template("The connection to the server broke ({kind}).", "サーバーとの接続が切れました（{kind}）。"),
    Template(
        "The server sent an event line over {limit} bytes; llmchat stopped reading there.",
        "サーバーが {limit} バイトを超える 1 行を送ってきたため、llmchat はそこで読み込みを止めました。",
    ),
    Template(
        "The answer reached {limit} characters, the most llmchat reads; the rest was not read.",
        "回答が llmchat の読み込む上限の {limit} 文字に達したため、残りは読み込みませんでした。",
    ),
    Template(
        "The server's reply passed {limit} bytes, the most llmchat reads; the rest was not read.",
        "サーバーの応答が llmchat の読み込む上限の {limit} バイトを超えたため、残りは読み込みませんでした。",
    ),
    Template("connection failed", "接続に失敗"),
    Template("one visitor", "1 人"),
    Template("one network address", "1 つのネットワークアドレス"),
    Template("text files", "テキストファイル"),
    Template("images", "画像"),
)

# The stats line under an answer, one " · "-separated part at a time (values keep their "~").
STATS_PARTS: tuple[Template, ...] = (
    Template("⏱ {seconds} s to first token", "⏱ 最初のトークンまで {seconds} 秒"),
    Template("{rate} tokens/s", "{rate} トークン/秒"),
    Template(
        "{prompt} prompt + {completion} completion tokens", "プロンプト {prompt} + 生成 {completion} トークン"
    ),
    Template("{completion} completion tokens", "生成 {completion} トークン"),
)
