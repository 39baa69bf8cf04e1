"""Normalise Chinese text for matching only (the original text is always kept verbatim).

Full-width letters, digits and punctuation become half-width (NFKC), except the circled numbers
①–⑳ that number clauses; traditional characters become simplified through a small table of the
characters such calls use (開展三個小組 → 开展三个小组). ``normalise_with_map`` also returns, for
every normalised character, the index of the original character it came from, so a match in the
normalised text cuts the original text at the same place.
"""

from __future__ import annotations

import unicodedata

_TRAD = (
    "開开個个組组週周兩两會会與与為为對对務务區区縣县鎮镇動动場场覺觉幫帮護护養养殘残兒儿長长處处設设備备"
    "關关愛爱滿满參参訓训練练課课時时類类專专業业導导評评價价質质報报書书內内項项費费總总數数達达標标員员"
    "聯联絡络輔辅機机構构織织務务計计劃划實实際际點点線线經经驗验見见規规範范圍围戶户歲岁齡龄學学習习園园"
    "體体屬属這这裡里裏里並并從从來来後后應应當当於于過过還还進进現现發发說说話话讀读寫写題题問问將将傳传"
    "遞递環环境境衛卫醫医療疗險险隊队屆届級级優优勢势認认證证許许條条款款據据歷历屆届舉举辦办聽听講讲"
    "義义務务負负責责維维繫系統统營营運运歡欢樂乐親亲鄰邻協协調调讓让權权屬属補补貼贴資资金金額额預预算算"
    "審审核核單单位位會会議议記记錄录檔档案案館馆區区鄉乡鎮镇樓楼層层門门戶户頁页標标準准級级別别類类"
    "萬万億亿點点週周歲岁齊齐盡尽優优質质響响應应態态狀状況况絕绝對对無无違违規规舊旧變变換换產产"
    "獨独孤孤殘残障障礙碍疾疾貧贫困困難难弱弱勢势闆板團团陪陪聊聊餐餐飯饭幾几雙双鐘钟頭头腦脑瀏浏覽览"
    "網网絡络線线視视頻频圖图片片稿稿宣宣導导種种積积極极參参與与願愿志志工工隊队員员務务驗验收收"
    "結结項项終终期期間间隔隔週周邊边縣县區区範范圍围歸归屬属紀纪律律廉廉潔洁風风險险應应急急預预案案"
    "轉转介介紹绍諮咨詢询訪访談谈測测試试檢检查查問问卷卷調调研研論论壇坛沙龍龙講讲座座課课堂堂堂"
    "節节慶庆慰慰問问贈赠送送物物資资發发放放覆覆蓋盖率率滿满意意度度不不低低於于少少並并且且"
    "編编號号稱称購购區区達达傷伤殯殡葬葬喪丧層层寫写貫贯徹彻談谈鬥斗爭争勵励獎奖懲惩態态衆众眾众麼么"
    "戲戏劇剧藝艺術术畫画歌歌舞舞攝摄錄录製制作作冊册張张紙纸筆笔盤盘讀读報报紙纸雜杂誌志廣广播播"
    "屆届辦办農农村村莊庄裝装飾饰燈灯災灾難难賑赈濟济靈灵魂魂頤颐樂乐綜综鑒鉴並并齡龄險险療疗"
    "陽阳陰阴億亿們们側侧倫伦傷伤僅仅儘尽優优兇凶剛刚劉刘勞劳勝胜匯汇卻却厲厉厭厌參参雙双嚴严"
    "圍围執执堅坚塊块壓压夢梦夠够奪夺婦妇媽妈孫孙寧宁寵宠導导屆届嶺岭幣币廳厅彈弹徑径殺杀氣气"
    "濱滨緊紧緒绪線线練练組组織织縱纵績绩續续罰罚聖圣聯联脫脱腳脚興兴舉举艱艰蘇苏蘭兰處处號号"
    "補补製制複复視视親亲觀观訂订詳详誤误諾诺謀谋謝谢讓让貨货貸贷貴贵買买賣卖贊赞趕赶躍跃車车"
    "軍军載载較较輕轻轉转辭辞邊边郵邮鄭郑針针鋪铺錯错鍵键鏈链門门閃闪開开間间閱阅隨随險险隻只"
    "雖虽雞鸡離离電电韓韩順顺須须頒颁領领頻频顧顾風风飛飞飽饱館馆驅驱骨骨體体髮发鬧闹魚鱼鳥鸟點点"
)
TRADITIONAL = {_TRAD[i]: _TRAD[i + 1] for i in range(0, len(_TRAD) - 1, 2) if _TRAD[i] != _TRAD[i + 1]}
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
# Export debris that carries no text: zero-width characters, BOM, soft hyphen.
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}


def normalise_char(ch: str) -> str:
    if ch in _INVISIBLE:
        return ""
    if ch in CIRCLED:
        return ch
    if ch in ("\u3000", "\xa0"):
        return " "
    ch = TRADITIONAL.get(ch, ch)
    out = unicodedata.normalize("NFKC", ch)
    return out.replace("．", ".").replace("～", "~").replace("－", "-").replace("—", "-").replace("–", "-")


def normalise_with_map(text: str) -> tuple[str, list[int]]:
    """The normalised text and, per normalised character, the index of its original character."""
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        n = normalise_char(ch)
        out.append(n)
        index.extend([i] * len(n))
    return "".join(out), index


def normalise(text: str) -> str:
    return "".join(normalise_char(ch) for ch in text)
