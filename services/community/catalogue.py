"""The demo matter catalogue (事项目录): a dozen realistic matters of a Shanghai-style
community affairs acceptance centre, plus the internal kiosk-fault matter."""
from __future__ import annotations

MATTERS = [
    {"code": "ELDERLY_ALLOWANCE", "name": "高龄老人营养补贴申领", "jurisdiction": "RESIDENCE",
     "materials": ["居民身份证", "户口簿或居住证", "银行卡"], "promised_days": 10,
     "description": "年满70周岁的老年人按月领取营养补贴。"},
    {"code": "ELDERLY_CARE_ASSESSMENT", "name": "老年照护统一需求评估申请", "jurisdiction": "RESIDENCE",
     "materials": ["居民身份证", "医保卡", "评估申请表"], "promised_days": 15},
    {"code": "HOME_CARE_SUBSIDY", "name": "居家养老服务补贴申请", "jurisdiction": "RESIDENCE",
     "materials": ["居民身份证", "评估结果通知书", "家庭收入证明"], "promised_days": 15},
    {"code": "RESIDENCE_PERMIT", "name": "居住证办理", "jurisdiction": "RESIDENCE",
     "materials": ["居民身份证", "租赁合同或房产证明", "近期免冠照片"], "promised_days": 15},
    {"code": "RESIDENCE_REGISTRATION", "name": "居住登记", "jurisdiction": "RESIDENCE",
     "materials": ["居民身份证", "住所证明"], "promised_days": 5},
    {"code": "MINIMUM_LIVING", "name": "最低生活保障申请", "jurisdiction": "RESIDENCE",
     "materials": ["居民身份证", "户口簿", "家庭收入证明", "家庭财产申报表"], "promised_days": 30},
    {"code": "DISABILITY_SUBSIDY", "name": "残疾人两项补贴申请", "jurisdiction": "RESIDENCE",
     "materials": ["居民身份证", "残疾人证"], "promised_days": 20},
    {"code": "HOUSEHOLD_CERTIFICATE", "name": "户籍证明开具", "jurisdiction": "REGISTRATION",
     "materials": ["居民身份证", "户口簿"], "promised_days": 3},
    {"code": "FAMILY_PLANNING_CERT", "name": "独生子女父母光荣证补办", "jurisdiction": "REGISTRATION",
     "materials": ["居民身份证", "户口簿", "结婚证"], "promised_days": 10},
    {"code": "BIRTH_SERVICE_REGISTRATION", "name": "生育服务登记", "jurisdiction": "REGISTRATION",
     "materials": ["夫妻双方居民身份证", "结婚证"], "promised_days": 5},
    {"code": "UNEMPLOYMENT_REGISTRATION", "name": "就业失业登记", "jurisdiction": "RESIDENCE",
     "materials": ["居民身份证", "劳动合同解除证明"], "promised_days": 5},
    {"code": "COMMUNITY_VENUE", "name": "社区活动场地预约", "jurisdiction": "ACCEPTING_DESK",
     "materials": ["活动方案"], "promised_days": 3},
    {"code": "KIOSK_FAULT", "name": "社区自助图书馆设备故障维修", "jurisdiction": "ACCEPTING_DESK",
     "materials": [], "promised_days": 2, "public": False},
]
