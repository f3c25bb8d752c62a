"""Every sentence llmchat writes about a turn, once per language: notices, hints, the stats line.

A notice kind (:class:`llmchat.core.notices.Notice`) names one :class:`Entry`: a title and a
body, each a ``str.format`` template over the notice's values (``{count:,}`` formats a number).
Entries without a title are phrases: hints and reasons that other notices take as values.
``tests/test_i18n.py`` checks that every entry has both languages and the same fields in each.
"""

from __future__ import annotations

from llmchat.i18n.entries import RETRY_JA as _RETRY_JA
from llmchat.i18n.entries import TOO_LONG as _TOO_LONG
from llmchat.i18n.entries import Entry, Text, join_catalogues
from llmchat.i18n.server_notices import SERVER_NOTICES

__all__ = ["NOTICES", "STATS", "Entry", "Text"]

_TURN_NOTICES: dict[str, Entry] = {
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
            "message and Max tokens. {sees}",
            "メッセージと最大トークン数を合わせると、モデルのコンテキスト長（{window:,} トークン）に"
            "収まらないためです。{sees}",
        ),
    ),
    "sees_last": Entry(
        body=Text("The model sees the last {kept} messages.", "モデルに見えるのは直近の {kept} 件です。")
    ),
    "sees_message_only": Entry(
        body=Text("The model sees only your message.", "モデルに見えるのはこのメッセージだけです。")
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
            "message and Max tokens. {sees}",
            "メッセージと最大トークン数を合わせると、モデルのコンテキスト長（{window:,} トークン）に"
            "収まらないためです。{sees}",
        ),
    ),
    "sees_summary_and_last": Entry(
        body=Text(
            "The model sees a summary of them instead, and the last {kept} messages.",
            "モデルには、それらの要約と直近の {kept} 件が見えています。",
        )
    ),
    "sees_summary_and_message": Entry(
        body=Text(
            "The model sees a summary of them instead, and your message.",
            "モデルには、それらの要約とこのメッセージが見えています。",
        )
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
    "summary_used": Entry(
        Text(
            "ℹ️ {count} earlier messages were sent as your summary",
            "ℹ️ 以前のメッセージ {count} 件は要約として送りました",
        ),
        Text(
            "The model sees the summary shown above the conversation instead of them, and the last "
            "{kept} messages.",
            "モデルには、それらの代わりに会話の上に表示した要約と、直近の {kept} 件が見えています。",
        ),
    ),
    # --- "Summarize older turns" on the page: llmchat.engine.service.ChatService.summarize ---------
    "summary_nothing": Entry(
        Text("ℹ️ Nothing to summarize", "ℹ️ 要約するものはありません"),
        Text(
            "The whole conversation still fits in what is sent to the model: no older message is left out.",
            "会話はまだすべてモデルに送れます。省かれる古いメッセージはありません。",
        ),
    ),
    "summary_not_made": Entry(
        Text("⚠️ No summary was made", "⚠️ 要約を作れませんでした"),
        Text(
            "The server did not write the summary ({detail}). Nothing was changed: try again, or press "
            "Clear to start over.",
            "サーバーが要約を書きませんでした（{detail}）。何も変えていません。もう一度試すか、"
            "クリアでやり直してください。",
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
    "images_text_only": Entry(
        Text("⚠️ This model reads text only", "⚠️ このモデルはテキストしか読めません"),
        Text(
            "`{name}` was not attached: **{model}** reads text only, not images. To ask about an "
            "image, open **Settings** and pick a preset or model that reads images (a vision model); "
            "or describe the image in words.",
            "`{name}` は添付しませんでした。**{model}** はテキストしか読めず、画像は読めません。"
            "画像について尋ねるには、**設定** で画像を読めるプリセットかモデル（ビジョンモデル）を"
            "選んでください。画像の内容を文章で説明することもできます。",
        ),
    ),
}

NOTICES: dict[str, Entry] = join_catalogues(SERVER_NOTICES, _TURN_NOTICES)

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
