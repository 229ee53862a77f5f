// Keeps the frontend library non-empty until its sources land; removed then.
namespace qmir::frontend { void placeholder() {} }
