"""The master-data templates: one sheet per kind, its columns with Chinese and English headers.

The same definitions drive the template download, the reader (a header may
be the Chinese, the English or the combined text) and the export, so an
exported file reads back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class SheetColumn:
    key: str
    zh: str
    en: str
    type: str = "text"  # text, code, decimal, integer, boolean, choice
    required: bool = False
    choices: tuple[str, ...] = ()

    def header(self, language: str = "both") -> str:
        if language == "zh":
            return self.zh
        if language == "en":
            return self.en
        return f"{self.zh} {self.en}"


@dataclass(frozen=True)
class Sheet:
    kind: str
    title: object
    columns: tuple[SheetColumn, ...]
    key: tuple[str, ...]  # the columns that name a row (unique in a file)


def _code(key, zh, en, required=True):
    return SheetColumn(key, zh, en, "code", required)


MATERIALS = Sheet(
    "materials",
    _("Materials"),
    (
        _code("code", "物料编码", "Material code"),
        SheetColumn("name", "物料名称", "Name", required=True),
        SheetColumn("specification", "规格型号", "Specification"),
        SheetColumn("unit", "单位", "Unit", required=True),
        SheetColumn("decimal_places", "小数位", "Decimal places", "integer"),
        SheetColumn("category", "物料类别", "Category"),
        SheetColumn("is_batch_tracked", "批次管理", "Batch tracked", "boolean"),
        SheetColumn("allow_negative", "允许负库存", "Allow negative", "boolean"),
        SheetColumn("safety_stock", "安全库存", "Safety stock", "decimal"),
        SheetColumn("abc_class", "ABC分类", "ABC class", "choice", choices=("", "A", "B", "C")),
        SheetColumn("standard_cost", "标准成本", "Standard cost", "decimal"),
        SheetColumn("is_active", "启用", "Active", "boolean"),
    ),
    ("code",),
)
LOCATIONS = Sheet(
    "locations",
    _("Locations"),
    (
        _code("code", "库位编码", "Location code"),
        SheetColumn("name", "库位名称", "Name", required=True),
        _code("parent", "上级库位", "Parent", required=False),
        SheetColumn(
            "level", "层级", "Level", "choice", required=True, choices=("warehouse", "zone", "bin")
        ),
        SheetColumn(
            "location_type",
            "库位类型",
            "Location type",
            "choice",
            required=True,
            choices=("storage", "line_side", "wip", "quality_hold", "pending_putaway"),
        ),
        SheetColumn("is_active", "启用", "Open", "boolean"),
    ),
    ("code",),
)
BATCHES = Sheet(
    "batches",
    _("Batches"),
    (
        _code("material", "物料编码", "Material code"),
        _code("number", "批号", "Batch number"),
        SheetColumn("production_date", "生产日期", "Production date", "date"),
        SheetColumn("expiry_date", "有效期至", "Expiry date", "date"),
        SheetColumn("supplier_lot", "供应商批号", "Supplier lot"),
    ),
    ("material", "number"),
)
WORK_CENTERS = Sheet(
    "work_centers",
    _("Work centers"),
    (
        _code("code", "工作中心编码", "Work center code"),
        SheetColumn("name", "工作中心名称", "Name", required=True),
        SheetColumn("capacity", "并行工位数", "Capacity", "integer"),
        SheetColumn("is_active", "启用", "Active", "boolean"),
    ),
    ("code",),
)
ROUTINGS = Sheet(
    "routings",
    _("Routings and operations"),
    (
        _code("routing", "工艺路线编码", "Routing code"),
        _code("product", "产品编码", "Product code"),
        SheetColumn("is_default", "默认路线", "Default", "boolean"),
        SheetColumn("sequence", "工序号", "Sequence", "integer", required=True),
        SheetColumn("name", "工序名称", "Operation", required=True),
        _code("work_center", "工作中心编码", "Work center code"),
        SheetColumn("setup_minutes", "准备时间(分)", "Setup minutes", "decimal"),
        SheetColumn("run_minutes_per_unit", "单件工时(分)", "Run minutes per unit", "decimal"),
        SheetColumn("inspection_after", "工序后检验", "Inspection after", "boolean"),
    ),
    ("routing", "sequence"),
)
COMPONENTS = Sheet(
    "components",
    _("Components (BOM per operation)"),
    (
        _code("routing", "工艺路线编码", "Routing code"),
        SheetColumn("sequence", "工序号", "Sequence", "integer", required=True),
        _code("material", "物料编码", "Material code"),
        SheetColumn("quantity_per_unit", "单位用量", "Quantity per unit", "decimal", True),
        SheetColumn(
            "issue_method", "发料方式", "Issue method", "choice", choices=("manual", "backflush")
        ),
        _code("issue_location", "发料库位", "Issue location", required=False),
    ),
    ("routing", "sequence", "material"),
)

SHEETS: dict[str, Sheet] = {
    sheet.kind: sheet
    for sheet in (MATERIALS, LOCATIONS, BATCHES, WORK_CENTERS, ROUTINGS, COMPONENTS)
}
