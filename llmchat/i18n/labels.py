"""English and Japanese labels: the page's own words (see :mod:`llmchat.web.i18n` for how they are used).

Keys are gr.I18n keys (prefixed ``llmchat_`` in the browser) and server-rendered UI text; the
notices (errors, hints, stats) are in :mod:`llmchat.i18n.catalog`.
"""

from __future__ import annotations

# Labels: gr.I18n keys (prefixed "llmchat_" in the browser) and server-rendered UI text.
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "preset": "Preset",
        "preset_info": "server, model and starting values",
        "model": "Model",
        "refresh_models": "↻",
        "mode": "Mode",
        "mode_chat": "Chat — sends the conversation",
        "mode_qa": "QA — one question at a time",
        "clear": "Clear",
        "placeholder": "Ask a question",
        "parameters": "Parameters",
        "system_prompt": "System prompt",
        "temperature": "Temperature",
        "top_p": "Top P",
        "max_tokens": "Max tokens",
        "frequency_penalty": "Frequency penalty",
        "presence_penalty": "Presence penalty",
        "seed": "Seed",
        "seed_placeholder": "empty = random",
        "show_stats": "Show answer stats",
        "export_json": "Export JSON",
        "export_markdown": "Export Markdown",
        "import_json": "Import JSON",
        "presets_skipped": "⚠️ Some presets could not be loaded and were skipped:",
        # The page's frame: sidebars, the chat's header, the composer.
        "conversations": "Conversations",
        "new_chat": "New chat",
        "search": "Search conversations",
        "settings": "Settings",
        "export_all": "Export all conversations",
        "download_all": "Download all conversations",
        "files": "Export and import",
        "refresh_models_tip": "Ask the server for its models again",
        "welcome": "How can I help?",
        "welcome_hint": (
            "Ask anything below (Enter sends, Shift+Enter for a new line), or start with an example:"
        ),
        "example_1": "Explain what a large language model is, in two sentences.",
        "example_2": "Write a short poem about the sea.",
        "example_3": "Give me three ideas for a rainy weekend.",
        "stopped": "stopped",
        "note_switched": "Switched to {preset}: {changes}",
        "note_replaced": "{name} replaced",
        "imported_all": "✅ Imported {count} conversations from `{name}`; the first is open.",
        "import_too_many_conversations": "it has {count} conversations; at most {limit} can be imported.",
        # Words of the page's script (llmchat/web/assets/llmchat.js):
        "js_untitled": "New conversation",
        "js_rename": "Rename",
        "js_delete": "Delete",
        "js_undo": "Undo",
        "js_deleted": "Deleted “{title}”.",
        "js_cleared": "The conversation was cleared.",
        "js_previous": "Previous variant",
        "js_next": "Next variant",
        "js_variant": "Variant {position} of {count}",
        "js_no_match": "No conversation matches.",
        "js_empty_list": "Your conversations will appear here.",
        "js_nearly_full": (
            "Kept in this browser: {count} of {limit} conversations, {size} of {limit_size} MB. "
            "When it is full the oldest are removed; export them to keep them."
        ),
        "js_dropped": "The oldest conversation “{title}” was removed to make room.",
        "js_quota": (
            "This browser's storage is full: this conversation could not be kept. Delete or export some."
        ),
        "js_open_conversations": "Show or hide the conversations",
        "js_open_settings": "Show or hide the settings",
        "js_stop_hint": "Your question is sent as soon as this answer is finished; Esc stops the answer.",
        # Rendered on the server, in the visitor's language:
        "status_online": "● online · {count} models",
        "status_online_one": "● online · 1 model",
        "status_offline": "✕ offline: the server does not answer",
        "status_local_ready": "● local model, running",
        "status_local_idle": "○ local model, starts with your first message",
        "imported": "✅ Imported {count} messages from `{name}`.",
        "import_failed": "⚠️ `{name}` was not imported: {reason} Nothing was changed.",
        "import_preset_missing": "The preset `{preset}` does not exist here; the current preset is kept.",
        "md_user": "You",
        "md_assistant": "Assistant",
        "md_system": "System prompt",
        "md_settings": "Preset **{preset}** · model `{model}` · mode {mode}",
        "import_not_json": "it is not a UTF-8 JSON file ({detail}).",
        "import_too_large": "it is larger than {limit} MB.",
        "import_clamped": "{name} {given} is above this preset's limit; {used} is used instead.",
        "import_not_conversation": (
            'it holds no conversation (expected a "messages" list, as Export JSON writes).'
        ),
        "import_too_many": "it has {count} messages; at most {limit} can be imported.",
        "import_bad_role": (
            "message {index} has the role '{role}'; only system, user and assistant messages can be imported."
        ),
        "import_bad_content": "message {index} has no readable text.",
        "import_bad_image": "message {index} holds an image that cannot be read.",
        "import_bad_mode": "its mode '{mode}' is neither chat nor qa.",
        "import_bad_parameters": "its parameters are invalid: {detail}",
        "md_title": "llmchat conversation",
        "md_image": "🖼️ (image)",
        "gauge": "{mark}{used:,} / {window:,} tokens",
        "gauge_title": (
            "Tokens the next message would use (conversation, message and attachments), out of the "
            "model's context window; {max_tokens:,} more are kept free for the answer."
        ),
        "gauge_estimated": "~ estimated: the server has no tokenizer endpoint.",
        "gauge_left_out": "sending leaves {count} older messages out",
        "gauge_summarized": "sending summarizes {count} older messages",
        "gauge_unknown": "context size unknown",
        "summarize": "Summarize older turns",
        "summarize_tip": (
            "Have the model summarize the older messages the next send would leave out; the summary "
            "is shown above the conversation, can be edited, and is sent in their place."
        ),
        "js_summary_title": "Summary of {count} earlier messages",
        "js_summary_hint": "The model sees this summary instead of those messages.",
        "js_summary_edit": "Edit",
        "js_summary_edit_tip": "Edit the summary the model sees",
        "js_summary_save": "Save",
        "js_summary_cancel": "Cancel",
        "js_summary_label": "Summary sent to the model in place of the earlier messages",
        "js_summarizing": "Summarizing…",
    },
    "ja": {
        "preset": "プリセット",
        "preset_info": "サーバー・モデル・初期値のセット",
        "model": "モデル",
        "refresh_models": "↻",
        "mode": "モード",
        "mode_chat": "チャット — 会話全体を送る",
        "mode_qa": "QA — 一問一答",
        "clear": "クリア",
        "placeholder": "何か質問してください",
        "parameters": "パラメーター",
        "system_prompt": "システムプロンプト",
        "temperature": "温度（Temperature）",
        "top_p": "Top P",
        "max_tokens": "最大トークン数",
        "frequency_penalty": "頻度ペナルティ",
        "presence_penalty": "存在ペナルティ",
        "seed": "シード",
        "seed_placeholder": "空欄 = ランダム",
        "show_stats": "回答の統計を表示",
        "export_json": "JSON で保存",
        "export_markdown": "Markdown で保存",
        "import_json": "JSON を読み込む",
        "presets_skipped": "⚠️ 読み込めなかったプリセットがあり、スキップしました:",
        "conversations": "会話",
        "new_chat": "新しいチャット",
        "search": "会話を検索",
        "settings": "設定",
        "export_all": "すべての会話を保存",
        "download_all": "すべての会話をダウンロード",
        "files": "保存と読み込み",
        "refresh_models_tip": "サーバーにモデル一覧を問い合わせ直す",
        "welcome": "何をお手伝いしましょうか？",
        "welcome_hint": (
            "下の欄に入力してください（Enter で送信、Shift+Enter で改行）。例から始めることもできます:"
        ),
        "example_1": "大規模言語モデルとは何か、2 文で説明してください。",
        "example_2": "海についての短い詩を書いてください。",
        "example_3": "雨の週末の過ごし方を 3 つ提案してください。",
        "stopped": "停止しました",
        "note_switched": "{preset} に切り替えました: {changes}",
        "note_replaced": "{name}を置き換え",
        "imported_all": "✅ `{name}` から {count} 件の会話を読み込み、最初の会話を開きました。",
        "import_too_many_conversations": "会話が {count} 件あります。読み込めるのは {limit} 件までです。",
        "js_untitled": "新しい会話",
        "js_rename": "名前を変更",
        "js_delete": "削除",
        "js_undo": "元に戻す",
        "js_deleted": "「{title}」を削除しました。",
        "js_cleared": "会話をクリアしました。",
        "js_previous": "前の回答候補",
        "js_next": "次の回答候補",
        "js_variant": "{count} 件中 {position} 件目",
        "js_no_match": "一致する会話はありません。",
        "js_empty_list": "ここに会話が並びます。",
        "js_nearly_full": (
            "このブラウザーに保存中: 会話 {count} / {limit} 件、{size} / {limit_size} MB。"
            "いっぱいになると古い会話から削除されます。残したい会話は保存してください。"
        ),
        "js_dropped": "空きを作るため、最も古い会話「{title}」を削除しました。",
        "js_quota": (
            "ブラウザーの保存領域がいっぱいで、この会話を保存できませんでした。"
            "会話を削除するか保存してください。"
        ),
        "js_open_conversations": "会話一覧の表示・非表示",
        "js_open_settings": "設定の表示・非表示",
        "js_stop_hint": "この回答が終わりしだい質問を送信します。Esc で回答を停止します。",
        "status_online": "● オンライン · モデル {count} 個",
        "status_online_one": "● オンライン · モデル 1 個",
        "status_offline": "✕ オフライン: サーバーが応答しません",
        "status_local_ready": "● ローカルモデル（起動済み）",
        "status_local_idle": "○ ローカルモデル（最初のメッセージで起動）",
        "imported": "✅ `{name}` から {count} 件のメッセージを読み込みました。",
        "import_failed": "⚠️ `{name}` は読み込めませんでした: {reason} 何も変更していません。",
        "import_preset_missing": "プリセット `{preset}` はここにないため、現在のプリセットのままです。",
        "md_user": "あなた",
        "md_assistant": "アシスタント",
        "md_system": "システムプロンプト",
        "md_settings": "プリセット **{preset}** · モデル `{model}` · モード {mode}",
        "import_not_json": "UTF-8 の JSON ファイルではありません（{detail}）。",
        "import_too_large": "{limit} MB を超えています。",
        "import_clamped": "{name} の {given} はこのプリセットの上限を超えるため、{used} にしました。",
        "import_not_conversation": (
            '会話が入っていません（「JSON で保存」が書き出す "messages" の一覧が必要です）。'
        ),
        "import_too_many": "メッセージが {count} 件あります。読み込めるのは {limit} 件までです。",
        "import_bad_role": (
            "{index} 番目のメッセージのロール '{role}' は読み込めません（system・user・assistant のみ）。"
        ),
        "import_bad_content": "{index} 番目のメッセージに読める本文がありません。",
        "import_bad_image": "{index} 番目のメッセージの画像を読み込めません。",
        "import_bad_mode": "モード '{mode}' は chat でも qa でもありません。",
        "import_bad_parameters": "パラメーターが正しくありません: {detail}",
        "md_title": "llmchat の会話",
        "md_image": "🖼️（画像）",
        "gauge": "{mark}{used:,} / {window:,} トークン",
        "gauge_title": (
            "次のメッセージで使うトークン数（会話・メッセージ・添付ファイル）とモデルのコンテキスト長。"
            "さらに {max_tokens:,} トークンを回答のために空けておきます。"
        ),
        "gauge_estimated": "~ は推定値です（サーバーにトークナイザーのエンドポイントがありません）。",
        "gauge_left_out": "送信すると古いメッセージ {count} 件が送られません",
        "gauge_summarized": "送信すると古いメッセージ {count} 件を要約します",
        "gauge_unknown": "コンテキスト長が不明",
        "summarize": "古いやり取りを要約",
        "summarize_tip": (
            "次の送信で省かれる古いメッセージをモデルに要約させます。要約は会話の上に表示され、"
            "編集でき、それらのメッセージの代わりに送られます。"
        ),
        "js_summary_title": "以前のメッセージ {count} 件の要約",
        "js_summary_hint": "モデルには、それらのメッセージの代わりにこの要約が見えています。",
        "js_summary_edit": "編集",
        "js_summary_edit_tip": "モデルに見える要約を編集",
        "js_summary_save": "保存",
        "js_summary_cancel": "キャンセル",
        "js_summary_label": "以前のメッセージの代わりにモデルへ送る要約",
        "js_summarizing": "要約しています…",
    },
}
