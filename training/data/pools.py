"""Word pools for the non-identifier slots of the templates (diagnoses, parties, religions, ...)."""

# ruff: noqa: E501  (template text stays on one line so it reads like the message it produces)

from __future__ import annotations

POOLS: dict[str, tuple[str, ...]] = {
    "diag": ("우울증", "공황장애", "조울증", "ADHD", "당뇨", "고혈압", "갑상선암", "유방암", "위암", "HIV",
             "조현병", "불면증", "강박증", "섭식장애", "간경화", "뇌전증", "치매 초기", "자궁내막증", "불임",
             "알코올 의존증", "디스크", "아토피", "B형 간염", "결핵", "난임"),
    "med": ("항우울제", "프로작", "렉사프로", "자낙스", "리튬", "인슐린", "수면제", "콘서타", "항정신병약",
            "혈압약", "항암제", "스테로이드"),
    "orient": ("게이", "레즈비언", "양성애자", "트랜스젠더", "무성애자", "동성애자", "바이"),
    "sexlife": ("부부관계가 거의 없어서", "여러 명이랑 만나고 있어서", "성병 검사 결과 때문에",
                "원나잇을 자주 해서", "남편이랑 잠자리 문제로"),
    "party": ("더불어민주당", "국민의힘", "정의당", "조국혁신당", "개혁신당", "진보당", "기본소득당"),
    "stance": ("보수", "진보", "극우", "극좌", "중도", "친노동", "반페미"),
    "issue": ("사형제 폐지", "탈원전", "최저임금 인상", "대북 지원", "부동산 보유세 강화", "의대 증원", "난민 수용"),
    "union": ("민주노총", "한국노총", "금속노조", "전교조", "공무원노조", "사내 노조", "보건의료노조"),
    "religion": ("기독교", "천주교", "불교", "원불교", "이슬람교", "여호와의 증인", "신천지", "힌두교",
                 "유대교", "대순진리회", "몰몬교", "통일교"),
    "belief": ("양심적 병역거부", "비건", "동물권", "무정부주의", "반자본주의", "페미니즘"),
    "gene": ("BRCA1", "BRCA2", "헌팅턴병", "낭포성 섬유증", "지중해빈혈", "APOE4 알츠하이머",
             "혈우병", "다운증후군", "근이영양증", "가족성 고콜레스테롤혈증"),
    "crime": ("음주운전", "폭행", "사기", "절도", "마약 투약", "성추행", "횡령", "보이스피싱", "불법촬영",
              "무면허 운전", "도박", "명예훼손"),
    "sentence": ("징역 2년", "집행유예 3년", "벌금 500만원", "징역 6개월", "보호관찰 1년", "징역 1년 6개월"),
    "ethnic": ("조선족", "고려인", "베트남계", "필리핀계", "화교", "몽골계", "흑인 혼혈", "우즈베크계",
               "중국계", "네팔 출신", "일본계", "태국계"),
    "company": ("삼성전자", "네이버", "카카오", "현대자동차", "LG화학", "SK하이닉스", "쿠팡", "배민",
                "신한은행", "우리 동네 편의점", "롯데마트", "서울시청", "KT", "CJ대한통운", "스타트업"),
    "dept": ("인사팀", "영업2팀", "개발실", "마케팅팀", "재무팀", "고객지원팀", "연구소", "총무과"),
    "school": ("서울대", "연세대", "한양초등학교", "대치중학교", "경기고", "부산외대", "카이스트",
               "은평중", "분당고", "고려대"),
    "grade": ("1", "2", "3", "4", "5", "6"),
    "place": ("강남역 11번 출구", "홍대 스타벅스", "잠실 롯데월드몰", "동네 놀이터", "역삼동 헬스장",
              "분당 정자동 카페", "해운대 해변", "신촌 PC방"),
    "city": ("서울 마포구", "부산 해운대구", "대구 수성구", "인천 송도", "수원 영통", "성남 분당", "광주 북구",
             "대전 유성구", "제주시", "서울 강남구 역삼동", "고양 일산", "용인 수지"),
    "weeks": ("8", "12", "16", "20", "24", "30"),
    "nick": ("닉네임 ㅇㅇ123", "@dark_knight77", "익명의 제보자", "gamer_kim", "별빛소녀"),
    "pubfig": ("윤석열", "이재명", "문재인", "한동훈", "조국", "오세훈", "김정은", "박근혜", "안철수"),
    "fname": ("홍길동", "춘향", "강마에", "도깨비 김신", "우영우", "이산", "장그래", "김주원"),
    "pct": ("3", "4.7", "12", "15", "23", "31", "48", "52", "67"),
    "diag_en": ("depression", "panic disorder", "bipolar disorder", "ADHD", "type 2 diabetes", "breast cancer",
                "HIV", "schizophrenia", "epilepsy", "early-onset dementia"),
    "stance_en": ("conservative", "progressive", "far-right", "leftist", "libertarian"),
    "sentence_en": ("two years in prison", "a suspended sentence", "18 months", "probation"),
    "ethnic_en": ("Vietnamese", "Filipino", "Chinese", "Nigerian", "Uzbek", "Mongolian", "Korean-Chinese"),
    "pubfig_en": ("Yoon Suk Yeol", "Lee Jae-myung", "Moon Jae-in", "Joe Biden", "Emmanuel Macron"),
    "fname_en": ("Sherlock", "Harry Potter", "Elizabeth Bennet", "Captain Ahab", "Kim Ji-young"),
}

# Register wrappers: (prefix, suffix) around a user message. Shared by every split.
WRAPPERS_KO: tuple[tuple[str, str], ...] = (
    ("", ""), ("", ""), ("", ""), ("", ""),
    ("안녕하세요. ", " 감사합니다."), ("[고객센터 채팅] 고객: ", ""), ("제목: 문의드립니다\n", ""),
    ("", " ㅠㅠ"), ("", " ㅋㅋ"), ("익명 게시판) ", ""), ("Q. ", ""), ("", "\n\n답변 부탁드려요"),
    ("[상담 기록]\n", ""), ("- ", ""), ("혹시 ", ""), ("", " 어떻게 해야 돼?"), ("회의록\n", ""),
    ("(카톡) ", ""), ("", "!!"), ("다름이 아니라 ", ""),
)
WRAPPERS_EN: tuple[tuple[str, str], ...] = (
    ("", ""), ("", ""), ("Hi, ", " Thanks."), ("Support chat - customer: ", ""), ("Quick question: ", ""),
    ("", " lol"), ("Note: ", ""), ("Subject: request\n", ""),
)
